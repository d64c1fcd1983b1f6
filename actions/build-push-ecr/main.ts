// build-push-ecr: ensure the repository, then build and push the image, or skip the build when the image
// for this source exists, or promote an existing image; every path ends by tagging through the manifest.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECRClient, type Repository } from '@aws-sdk/client-ecr';
import { type BuildPushPlan, readBuildPushEcrConfig } from '../../src/actions/build-push-ecr.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { describeImage, imagesByTag, planTags, putTags, type TaggedImage } from '../../src/ecr/images.ts';
import { loginToRegistry, type RegistryLogin } from '../../src/ecr/login.ts';
import { ensureRepository, findRepository, requireRepository } from '../../src/ecr/repository.ts';
import { ActionError } from '../../src/errors.ts';
import { type BuilderKind, buildImage, chooseBuilder, detectBuilders } from '../../src/image/builder.ts';
import { layerCacheKeys, restoreLayers, saveLayers } from '../../src/image/layer-cache.ts';
import { formatBytes, type Progress, type Summary } from '../../src/report.ts';
import { runAction } from '../../src/run.ts';
import { info, setOutput } from '../../src/runner.ts';

interface Outcome {
  repository: Repository;
  digest: string;
  skipped: boolean;
  /** Rows for the summary besides the image's own. */
  facts: [string, string][];
}

await runAction('build-push-ecr', async ({ progress, summary }) => {
  const plan = readBuildPushEcrConfig();
  const { config } = plan;
  if (!config.push) {
    await buildOnly(plan, progress, summary);
    return;
  }
  const ecr = createClient(ECRClient, awsSettings('build-push-ecr'));
  const outcome = config.sourceTag ? await promote(ecr, plan, progress) : await buildOrSkip(ecr, plan, progress);
  await report(ecr, plan, outcome, summary);
});

/** Adds `source-tag`'s image to `tags` by manifest: no build, no layer moves. */
async function promote(ecr: ECRClient, plan: BuildPushPlan, progress: Progress): Promise<Outcome> {
  const { config } = plan;
  const source = config.sourceTag ?? '';
  progress.phase(`Promoting ${config.repository}:${source}`);
  const repository = await requireRepository(ecr, config.repository);
  const current = await imagesByTag(ecr, config.repository, [source, ...plan.tags]);
  const image = current.get(source);
  if (!image) {
    throw new ActionError(
      `${config.repository} has no image tagged ${source}, so there is nothing to promote.`,
      'check source-tag: it is usually the commit SHA the build step pushed (its tags output lists them).',
    );
  }
  progress.line(`${source} is ${image.digest}`);
  await applyTags(ecr, repository, image, plan.tags, current, progress);
  return { repository, digest: image.digest, skipped: true, facts: [['Promoted from', source]] };
}

async function buildOrSkip(ecr: ECRClient, plan: BuildPushPlan, progress: Progress): Promise<Outcome> {
  const { config } = plan;
  const build = plan.build;
  if (!build) throw new ActionError('Nothing to build.', 'this is a bug in ecs-deploy-actions; please report it.');
  const key = build.contentKey;
  progress.phase(`Looking for ${config.repository}:${key.tag}`);
  progress.line(`Content key ${key.tag}, from the ${key.source}`);
  const existing = await findRepository(ecr, config.repository);
  const current = existing ? await imagesByTag(ecr, config.repository, plan.tags) : new Map<string, TaggedImage>();
  const existingImage = current.get(key.tag);
  // Choose the builder before creating anything: a runner that cannot build must not leave an empty repository.
  const builder = existingImage ? undefined : chooseBuilder(config.builder, await detectBuilders());
  const ensured = await ensureRepository(
    ecr,
    { name: config.repository, tagMutability: config.tagMutability, lifecyclePolicy: config.lifecyclePolicy },
    { repository: existing },
  );
  const repository = ensured.repository;
  progress.line(
    `${ensured.created ? 'Created' : 'Using'} repository ${repository.repositoryUri} (tags ${repository.imageTagMutability}, scan on push ${repository.imageScanningConfiguration?.scanOnPush ? 'on' : 'off'}, lifecycle policy ${ensured.lifecyclePolicy})`,
  );
  const facts: [string, string][] = [
    ['Repository', ensured.created ? 'created' : 'existing'],
    ['Lifecycle policy', ensured.lifecyclePolicy],
    ['Content key', `${key.tag} (${key.source})`],
  ];

  if (existingImage) {
    progress.line(`An image for this source exists (${existingImage.digest}): skipping the build.`);
    await applyTags(ecr, repository, existingImage, plan.tags, current, progress);
    return { repository, digest: existingImage.digest, skipped: true, facts: [...facts, ['Build', 'skipped: the image for this source exists']] };
  }
  // Refuse before building when an immutable tag already names another image.
  planTags({ repository: config.repository, digest: '', wanted: plan.tags, current, immutable: repository.imageTagMutability === 'IMMUTABLE' });

  const builderKind = builder as BuilderKind;
  progress.phase(`Building with ${builderKind} for ${config.platforms.join(', ')}`);
  const login = await loginToRegistry(ecr);
  let buildFailure: unknown;
  let buildRun: BuildRun | undefined;
  try {
    buildRun = await runBuild(plan, builderKind, progress, { pushTo: `${repository.repositoryUri}:${key.tag}`, login });
  } catch (error) {
    buildFailure = error;
  } finally {
    login.logout();
  }
  const afterPush = await imagesByTag(ecr, config.repository, plan.tags);
  const pushed = afterPush.get(key.tag);
  if (buildFailure) {
    // A concurrent run of the same source pushed the key first (an immutable repository refuses ours): use its image.
    if (!pushed) throw buildFailure;
    progress.line(`Another run pushed ${key.tag} meanwhile (${pushed.digest}): using that image.`);
  }
  if (!pushed) throw new ActionError(`The push of ${key.tag} succeeded, but ECR does not list it.`, 'run the step again.');
  await applyTags(ecr, repository, pushed, plan.tags, afterPush, progress);
  return {
    repository,
    digest: pushed.digest,
    skipped: false,
    facts: [...facts, ...(buildRun?.facts ?? [])],
  };
}

async function applyTags(
  ecr: ECRClient,
  repository: Repository,
  image: TaggedImage,
  wanted: string[],
  current: Map<string, TaggedImage>,
  progress: Progress,
): Promise<void> {
  const name = repository.repositoryName ?? '';
  const tagPlan = planTags({ repository: name, digest: image.digest, wanted, current, immutable: repository.imageTagMutability === 'IMMUTABLE' });
  if (tagPlan.moved.length > 0) progress.line(`Moving ${tagPlan.moved.join(', ')} from another image to this one`);
  if (tagPlan.add.length === 0) {
    progress.line(`Already tagged ${tagPlan.present.join(', ')}: nothing to add.`);
    return;
  }
  progress.line(`Adding ${tagPlan.add.join(', ')} by manifest`);
  await putTags(ecr, name, image, tagPlan.add);
}

async function report(ecr: ECRClient, plan: BuildPushPlan, outcome: Outcome, summary: Summary): Promise<void> {
  const name = plan.config.repository;
  const uri = outcome.repository.repositoryUri ?? '';
  const detail = await describeImage(ecr, name, outcome.digest);
  const tags = [...(detail?.imageTags ?? [])].sort();
  setOutput('image', `${uri}@${outcome.digest}`);
  setOutput('digest', outcome.digest);
  setOutput('tags', tags.join(','));
  setOutput('skipped', outcome.skipped);
  setOutput('repository-uri', uri);
  setOutput('content-key', plan.build?.contentKey.tag ?? '');
  summary.addTable(
    ['', ''],
    [
      ['Image', `\`${uri}@${outcome.digest}\``],
      ['Tags', tags.join(', ')],
      ['Size', detail?.imageSizeInBytes === undefined ? undefined : formatBytes(detail.imageSizeInBytes)],
      ['Scan on push', outcome.repository.imageScanningConfiguration?.scanOnPush ? 'on' : 'off'],
      ...outcome.facts,
    ],
  );
}

/** Built locally and thrown away (push: false), as a check of the Dockerfile: no AWS call at all. */
async function buildOnly(plan: BuildPushPlan, progress: Progress, summary: Summary): Promise<void> {
  const { config } = plan;
  const build = plan.build;
  if (!build) throw new ActionError('Nothing to build.', 'this is a bug in ecs-deploy-actions; please report it.');
  const builder = chooseBuilder(config.builder, await detectBuilders());
  progress.phase(`Building with ${builder} for ${config.platforms.join(', ')} (push: false)`);
  const built = await runBuild(plan, builder, progress, { pushTo: undefined, login: undefined });
  for (const output of ['image', 'digest', 'repository-uri']) setOutput(output, '');
  setOutput('tags', '');
  setOutput('skipped', false);
  setOutput('content-key', build.contentKey.tag);
  summary.addTable(['', ''], [...built.facts, ['Pushed', 'no (push: false)'], ['Content key', build.contentKey.tag]]);
}

interface BuildRun {
  digest: string | undefined;
  facts: [string, string][];
}

/** One build (and push when asked), with the layer cache restored before and saved after. */
async function runBuild(
  plan: BuildPushPlan,
  builder: BuilderKind,
  progress: Progress,
  target: { pushTo: string | undefined; login: RegistryLogin | undefined },
): Promise<BuildRun> {
  const build = plan.build;
  if (!build) throw new ActionError('Nothing to build.', 'this is a bug in ecs-deploy-actions; please report it.');
  const { platforms } = plan.config;
  const log = (line: string) => progress.line(line);
  const stateDir = builderState(builder, platforms);
  const cache = await restoreLayers({
    enabled: plan.config.cache,
    builder,
    stateDir,
    ...layerCacheKeys(builder, platforms, build.dockerfile, build.contentKey.tag),
    log,
  });
  const startedAt = Date.now();
  const result = await buildImage({
    builder,
    contextDir: build.contextDir,
    dockerfile: build.dockerfile,
    buildArgs: build.settings.buildArgs,
    target: build.settings.target,
    platforms,
    labels: build.settings.labels,
    pushTo: target.pushTo,
    login: target.login,
    stateDir,
    cache: plan.config.cache,
    onLine: (line) => info(`  ${line}`),
  });
  const seconds = (Date.now() - startedAt) / 1000;
  log(`${target.pushTo ? `Built and pushed ${target.pushTo}` : 'Built'} in ${seconds.toFixed(1)} s${result.digest ? `: ${result.digest}` : ''}`);
  const saved = await saveLayers(cache, builder, log);
  return {
    digest: result.digest,
    facts: [
      ['Build', `${builder}, ${seconds.toFixed(1)} s wall`],
      ['Layer cache', `${cache.restored}; ${saved}`],
    ],
  };
}

/**
 * Where the builder keeps layers between steps of a job (RUNNER_TEMP) and, through the cache, between
 * runs: one place per platform set (no '+': buildah's storage references use it as a separator), since a layer built for one platform must never serve another.
 */
function builderState(builder: BuilderKind, platforms: string[]): string {
  return join(process.env.RUNNER_TEMP || tmpdir(), 'ecs-deploy-actions', builder, [...platforms].sort().join('_').replace(/\//g, '-'));
}
