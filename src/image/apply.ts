// build-push-ecr's plan carried out: repositories ensured, the image built and pushed, tags added by manifest.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ECRClient, Repository } from '@aws-sdk/client-ecr';
import type { BuildSource } from '../actions/build-push-ecr.ts';
import { imagesByTag, planTags, putTags, type TaggedImage } from '../ecr/images.ts';
import { loginToRegistry, type RegistryLogin } from '../ecr/login.ts';
import { ensureRepository } from '../ecr/repository.ts';
import { ActionError } from '../errors.ts';
import type { Progress } from '../report.ts';
import { info } from '../runner.ts';
import { type BuilderKind, buildImage } from './builder.ts';
import type { BuildPushPlan, RepositoryStep } from './plan.ts';

export interface Outcome {
  /** Undefined for a build-only run. */
  repository: Repository | undefined;
  digest: string | undefined;
  skipped: boolean;
  /** Rows for the summary besides the image's own. */
  facts: [string, string][];
}

/** `ecr` is called only by plans that push: a build-only run makes no AWS call. */
export async function applyBuildPush(plan: BuildPushPlan, progress: Progress, client: () => ECRClient): Promise<Outcome> {
  if (plan.kind === 'build-only') {
    progress.phase(`Building with ${plan.builder} for ${plan.source.settings.platforms.join(', ')} (push: false)`);
    const built = await build(plan.builder, plan.source, undefined, undefined, progress);
    return { repository: undefined, digest: undefined, skipped: false, facts: [...built.facts, ['Pushed', 'no (push: false)']] };
  }
  const ecr = client();
  if (plan.kind === 'promote') {
    progress.phase(`Promoting ${plan.repository.repositoryName}:${plan.sourceTag}`);
    progress.line(`${plan.sourceTag} is ${plan.image.digest}`);
    await addTags(ecr, plan.repository, plan.image, plan.tags, progress);
    return { repository: plan.repository, digest: plan.image.digest, skipped: true, facts: [['Promoted from', plan.sourceTag]] };
  }
  const repository = await ensure(ecr, plan.repository, progress);
  if (plan.kind === 'skip') {
    progress.line(`An image for this source exists (${plan.image.digest}): skipping the build.`);
    await addTags(ecr, repository, plan.image, plan.tags, progress);
    return { repository, digest: plan.image.digest, skipped: true, facts: [['Build', 'skipped: the image for this source exists']] };
  }
  const cache = plan.cache ? await ensure(ecr, plan.cache, progress) : undefined;
  const key = plan.source.contentKey.tag;
  progress.phase(`Building with ${plan.builder} for ${plan.source.settings.platforms.join(', ')}`);
  const name = plan.repository.name;
  let failure: unknown;
  let built: Awaited<ReturnType<typeof build>> | undefined;
  const login = await loginToRegistry(ecr);
  try {
    built = await build(plan.builder, plan.source, { repository: name, tag: key, login }, cache?.repositoryName, progress);
  } catch (error) {
    failure = error;
  } finally {
    login.logout();
  }
  const afterPush = await imagesByTag(ecr, name, plan.tags);
  const pushed = afterPush.get(key);
  if (failure) {
    // A concurrent run of the same source pushed the key first (an immutable repository refuses ours): use its image.
    if (!pushed) throw failure;
    progress.line(`Another run pushed ${key} meanwhile (${pushed.digest}): using that image.`);
  }
  if (!pushed) throw new ActionError(`The push of ${key} succeeded, but ECR does not list it.`, 'run the step again.');
  const tags = planTags({
    repository: name,
    digest: pushed.digest,
    wanted: plan.tags,
    current: afterPush,
    immutable: repository.imageTagMutability === 'IMMUTABLE',
  });
  await addTags(ecr, repository, pushed, tags, progress);
  return { repository, digest: pushed.digest, skipped: false, facts: built?.facts ?? [] };
}

async function ensure(ecr: ECRClient, step: RepositoryStep, progress: Progress): Promise<Repository> {
  const ensured = await ensureRepository(
    ecr,
    { name: step.name, tagMutability: step.tagMutability, lifecyclePolicy: step.lifecyclePolicy, tags: step.tags, scanOnPush: step.scanOnPush },
    { repository: step.existing },
  );
  const { repository } = ensured;
  progress.line(
    `${ensured.created ? 'Created' : 'Using'} repository ${repository.repositoryUri} (tags ${repository.imageTagMutability}, scan on push ${repository.imageScanningConfiguration?.scanOnPush ? 'on' : 'off'}, lifecycle policy ${ensured.lifecyclePolicy})`,
  );
  return repository;
}

async function addTags(ecr: ECRClient, repository: Repository, image: TaggedImage, tags: ReturnType<typeof planTags>, progress: Progress): Promise<void> {
  if (tags.moved.length > 0) progress.line(`Moving ${tags.moved.join(', ')} from another image to this one`);
  if (tags.add.length === 0) {
    progress.line(`Already tagged ${tags.present.join(', ')}: nothing to add.`);
    return;
  }
  progress.line(`Adding ${tags.add.join(', ')} by manifest`);
  await putTags(ecr, repository.repositoryName ?? '', image, tags.add);
}

async function build(
  builder: BuilderKind,
  source: BuildSource,
  push: { repository: string; tag: string; login: RegistryLogin } | undefined,
  cacheRepository: string | undefined,
  progress: Progress,
): Promise<{ facts: [string, string][] }> {
  const { platforms } = source.settings;
  const startedAt = Date.now();
  const result = await buildImage({
    builder,
    contextDir: source.contextDir,
    dockerfile: source.dockerfile,
    buildArgs: source.settings.buildArgs,
    target: source.settings.target,
    platforms,
    labels: source.settings.labels,
    push,
    cacheRepository,
    stateDir: builderState(builder, platforms),
    onLine: (line) => info(`  ${line}`),
  });
  const seconds = (Date.now() - startedAt) / 1000;
  progress.line(`${push ? `Built and pushed ${push.repository}:${push.tag}` : 'Built'} in ${seconds.toFixed(1)} s${result.digest ? `: ${result.digest}` : ''}`);
  if (result.transfer) progress.line(result.transfer);
  const layerCache = !cacheRepository
    ? 'off (cache: false)'
    : builder === 'buildah' && platforms.length > 1
      ? `off: buildah's layer cache ignores the platform, and this build has ${platforms.length}`
      : `registry, ${cacheRepository}`;
  return {
    facts: [
      ['Build', `${builder}, ${seconds.toFixed(1)} s wall`],
      ['Layer cache', layerCache],
      ...(result.transfer ? [['Push', result.transfer] as [string, string]] : []),
    ],
  };
}

/**
 * Where the builder keeps layers for later steps of the same job (RUNNER_TEMP): one place per platform
 * set (no '+': buildah's storage references use it as a separator), since a layer built for one platform must never serve another.
 */
function builderState(builder: BuilderKind, platforms: string[]): string {
  return join(process.env.RUNNER_TEMP || tmpdir(), 'ecs-deploy-actions', builder, [...platforms].sort().join('_').replace(/\//g, '-'));
}
