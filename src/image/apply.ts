// build-push-ecr's plan carried out: repositories ensured, the image built and pushed, tags added by manifest.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ECRClient, Repository } from '@aws-sdk/client-ecr';
import type { BuildSource } from '../actions/build-push-ecr.ts';
import { imagesByTag, planTags, putTags, type TaggedImage } from '../ecr/images.ts';
import { loginToRegistry, type RegistryLogin } from '../ecr/login.ts';
import { type Manifest, parseManifest, pushImage, putManifest, withLabels } from '../ecr/registry.ts';
import { ensureRepository } from '../ecr/repository.ts';
import { ActionError } from '../errors.ts';
import { formatBytes, type Progress } from '../report.ts';
import { info } from '../runner.ts';
import { type BuilderKind, type BuildResult, buildImage } from './builder.ts';
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
  if (plan.kind === 'skip') {
    const repository = await ensure(ecr, plan.repository, progress);
    progress.line(`An image for this source exists (${plan.image.digest}): skipping the build.`);
    await addTags(ecr, repository, plan.image, plan.tags, progress);
    return { repository, digest: plan.image.digest, skipped: true, facts: [['Build', 'skipped: the image for this source exists']] };
  }
  // Independent of each other: the two repositories and the registry password at once.
  const settled = await Promise.allSettled([
    ensure(ecr, plan.repository, progress),
    plan.cache ? ensure(ecr, plan.cache, progress) : Promise.resolve(undefined),
    loginToRegistry(ecr),
  ] as const);
  const [ensured, ensuredCache, loggedIn] = settled;
  if (ensured.status === 'rejected' || ensuredCache.status === 'rejected' || loggedIn.status === 'rejected') {
    if (loggedIn.status === 'fulfilled') loggedIn.value.logout();
    throw settled.find((result) => result.status === 'rejected')?.reason;
  }
  const [repository, cache, login] = [ensured.value, ensuredCache.value, loggedIn.value];
  const key = plan.source.contentKey.tag;
  const name = plan.repository.name;
  progress.phase(
    plan.kind === 'reuse'
      ? `Reusing the layers of ${plan.cache.name}:${plan.contextTag}`
      : `Building with ${plan.builder} for ${plan.source.settings.platforms.join(', ')}`,
  );
  let failure: unknown;
  let facts: [string, string][] = [];
  try {
    facts = await buildAndPush(plan, { repository: name, tag: key, login }, cache?.repositoryName, progress);
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
  return { repository, digest: pushed.digest, skipped: false, facts };
}

/** The build (or the reuse of an earlier build's layers), then the labelled image pushed from the cache. */
async function buildAndPush(
  plan: Extract<BuildPushPlan, { kind: 'build' | 'reuse' }>,
  push: { repository: string; tag: string; login: RegistryLogin },
  cacheRepository: string | undefined,
  progress: Progress,
): Promise<[string, string][]> {
  const startedAt = Date.now();
  let unlabelled: Manifest | undefined;
  const facts: [string, string][] = [];
  if (plan.kind === 'reuse') {
    unlabelled = parseManifest(plan.image.manifest, plan.image.mediaType);
    facts.push(['Build', `none: ${plan.cache.name}:${plan.contextTag} has the layers of these inputs`]);
  } else {
    const built = await build(plan.builder, plan.source, push, cacheRepository, progress);
    facts.push(...built.facts);
    if (built.result.kind === 'pushed') {
      // Its labels are this run's; a reuse sets the next run's over them.
      if (plan.contextTag && cacheRepository && built.result.cacheImage)
        await putManifest(push.login, cacheRepository, plan.contextTag, built.result.cacheImage);
      return facts;
    }
    unlabelled = built.result.manifest;
  }
  if (!unlabelled || !cacheRepository) {
    throw new ActionError(
      `${cacheRepository}:${plan.contextTag} is not a one-platform image manifest.`,
      'delete that tag from the cache repository, then run the step again.',
    );
  }
  const labelled = await withLabels(push.login, cacheRepository, unlabelled, plan.source.settings.labels);
  const copied = await pushImage(push.login, labelled, push.repository, push.tag);
  if (plan.kind === 'build' && plan.contextTag) await putManifest(push.login, cacheRepository, plan.contextTag, unlabelled);
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  const transfer = `${formatBytes(copied.uploadedBytes)} uploaded, ${formatBytes(copied.reusedBytes)} already in ${push.repository}`;
  progress.line(`Pushed ${push.repository}:${push.tag} (${transfer}): ${copied.digest}; ${seconds} s in all`);
  facts.push(['Push', transfer]);
  return facts;
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
): Promise<{ result: BuildResult; facts: [string, string][] }> {
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
  const pushed = result.kind === 'pushed' && result.digest;
  progress.line(`${pushed ? `Built and pushed ${push?.repository}:${push?.tag}` : 'Built'} in ${seconds.toFixed(1)} s${pushed ? `: ${result.digest}` : ''}`);
  const layerCache = !cacheRepository
    ? 'off (cache: false)'
    : builder === 'buildah' && platforms.length > 1
      ? `off: buildah's layer cache ignores the platform, and this build has ${platforms.length}`
      : `registry, ${cacheRepository}`;
  return {
    result,
    facts: [
      ['Build', `${builder}, ${seconds.toFixed(1)} s wall`],
      ['Layer cache', layerCache],
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
