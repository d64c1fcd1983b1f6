// build-push-ecr with buildah against the emulator's ECR and its real registry: build, skip, promote, refuse.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetLifecyclePolicyCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { BundleOptions, BundleRun } from '../helpers/run-bundle.ts';
import { startWorld, type World } from '../helpers/world.ts';

const canBuild = ['buildah', 'docker-registry'].every((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);
if (!canBuild) console.warn('build-push.test: skipped: buildah or docker-registry is not installed (apt-get install -y buildah docker-registry)');
const suite = canBuild ? describe : describe.skip;

const SHA_1 = '1111111111111111111111111111111111111111';
const SHA_2 = '2222222222222222222222222222222222222222';

let world: World;
let ecr: ECRClient;
let workspace: string;
let runnerTemp: string;

beforeAll(async () => {
  world = await startWorld({ registry: canBuild });
  ecr = new ECRClient({ endpoint: world.emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } });
  workspace = mkdtempSync(join(tmpdir(), 'build-push-workspace-'));
  // One RUNNER_TEMP for every run, as the steps of one job share it: buildah's layers stay there.
  runnerTemp = mkdtempSync(join(tmpdir(), 'build-push-runner-'));
  mkdirSync(join(workspace, 'app'));
  writeFileSync(join(workspace, 'app', 'hello.txt'), 'hello from pr-7\n');
  writeFileSync(join(workspace, 'app', 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
});

afterAll(async () => {
  ecr.destroy();
  await world.stop();
  rmSync(workspace, { recursive: true, force: true });
  rmSync(runnerTemp, { recursive: true, force: true });
});

function build(inputs: Record<string, string>, options: { sha?: string; pullRequest?: number; env?: Record<string, string> } = {}): Promise<BundleRun> {
  const run: BundleOptions = {
    inputs: { repository: 'web', context: 'app', cache: 'false', ...inputs },
    env: {
      GITHUB_WORKSPACE: workspace,
      RUNNER_TEMP: runnerTemp,
      GITHUB_SHA: options.sha ?? SHA_1,
      GITHUB_EVENT_NAME: options.pullRequest ? 'pull_request' : 'push',
      ...options.env,
    },
    event: options.pullRequest ? { number: options.pullRequest, pull_request: { number: options.pullRequest } } : {},
  };
  return world.run('build-push-ecr', run);
}

async function imagesOf(repository: string): Promise<{ digest: string; tags: string[] }[]> {
  const response = await ecr.send(new DescribeImagesCommand({ repositoryName: repository }));
  return (response.imageDetails ?? []).map((image) => ({ digest: image.imageDigest ?? '', tags: [...(image.imageTags ?? [])].sort() }));
}

async function callsSince(count: number) {
  return (await world.calls()).slice(count);
}

/** Every value the step asked the runner to mask, and whether it shows up anywhere except in that request. */
function leakedSecrets(run: BundleRun): string[] {
  const masked = [...run.stdout.matchAll(/^::add-mask::(.+)$/gm)].map((match) => match[1] ?? '');
  // @actions/cache masks the signed URLs it gets, then prints them in ::debug:: lines, which the runner
  // shows only in debug mode and then masked; every other line must not hold a masked value.
  const withoutMaskCommands = run.stdout.replace(/^::(?:add-mask|debug)::.+$/gm, '');
  return masked.filter((value) => withoutMaskCommands.includes(value) || run.stderr.includes(value) || run.summary.includes(value));
}

suite('build-push-ecr', () => {
  let firstDigest = '';

  test('builds a FROM scratch image with buildah, pushes it with the commit and PR tags, and ECR agrees with the outputs', async () => {
    const run = await build({}, { pullRequest: 7 });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('Building with buildah');
    expect(run.outputs.skipped).toBe('false');
    expect(run.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const uri = run.outputs['repository-uri'];
    expect(run.outputs.image).toBe(`${uri}@${run.outputs.digest}`);
    // The context is not the default one, so the content key is the commit plus a hash of the settings.
    const key = run.outputs['content-key'] ?? '';
    expect(key).toMatch(new RegExp(`^${SHA_1}-[0-9a-f]{12}$`));
    expect(run.outputs.tags).toBe([SHA_1, key, 'pr-7'].sort().join(','));
    expect(await imagesOf('web')).toEqual([{ digest: run.outputs.digest, tags: [SHA_1, key, 'pr-7'].sort() }]);
    firstDigest = run.outputs.digest ?? '';

    const repository = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['web'] }))).repositories?.[0];
    expect(repository?.imageScanningConfiguration?.scanOnPush).toBe(true);
    const policy = JSON.parse((await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'web' }))).lifecyclePolicyText ?? '{}');
    expect(
      policy.rules.map(
        (rule: { selection: { tagPatternList?: string[]; tagStatus: string } }) => rule.selection.tagPatternList?.[0] ?? rule.selection.tagStatus,
      ),
    ).toEqual(expect.arrayContaining(['pr-*', 'untagged']));
    expect(run.summary).toContain(firstDigest);
    expect(run.summary).toMatch(/Size \| \d+ B/);
    expect(run.summary).toContain('Scan on push | on');
  }, 120_000);

  test('the registry password is masked and appears in no log or summary', async () => {
    const run = await build({ tags: 'masking-check' }, { sha: '3333333333333333333333333333333333333333' });
    expect(run.exitCode).toBe(0);
    const masked = [...run.stdout.matchAll(/^::add-mask::(.+)$/gm)].map((match) => match[1] ?? '');
    // The base64 token and the password inside it.
    expect(masked.length).toBeGreaterThanOrEqual(2);
    const token = masked.find((value) => Buffer.from(value, 'base64').toString().startsWith('AWS:')) ?? '';
    expect(masked).toContain(Buffer.from(token, 'base64').toString().slice(4));
    expect(leakedSecrets(run)).toEqual([]);
  }, 120_000);

  test('a second run of the same commit skips the build, keeps the digest and adds the new tag', async () => {
    const before = (await world.calls()).length;
    const run = await build({}, { pullRequest: 8 });
    expect(run.exitCode).toBe(0);
    expect(run.outputs.skipped).toBe('true');
    expect(run.outputs.digest).toBe(firstDigest);
    expect(run.stdout).toContain('skipping the build');
    expect(run.stdout).not.toContain('Building with');
    const calls = await callsSince(before);
    // No login means no push: the tag came from the manifest alone.
    expect(calls.map((call) => call.operation)).not.toContain('GetAuthorizationToken');
    expect(calls.filter((call) => call.mutating).map((call) => `${call.operation} ${call.parameters.imageTag}`)).toEqual(['PutImage pr-8']);
    expect((await imagesOf('web')).find((image) => image.digest === firstDigest)?.tags).toEqual([SHA_1, run.outputs['content-key'], 'pr-7', 'pr-8'].sort());
  }, 120_000);

  test('promote sha-abc to v1.2.3 and prod: same digest, no build, no login', async () => {
    const built = await build({ tags: 'sha-abc' }, { sha: 'abcabcabcabcabcabcabcabcabcabcabcabcabca' });
    expect(built.exitCode).toBe(0);
    const before = (await world.calls()).length;
    const run = await build({ 'source-tag': 'sha-abc', tags: 'v1.2.3\nprod' });
    expect(run.exitCode).toBe(0);
    expect(run.outputs.digest).toBe(built.outputs.digest);
    expect(run.outputs.skipped).toBe('true');
    expect(run.outputs.tags?.split(',')).toEqual(expect.arrayContaining(['sha-abc', 'v1.2.3', 'prod']));
    const operations = (await callsSince(before)).map((call) => call.operation);
    expect(operations).not.toContain('GetAuthorizationToken');
    expect(operations.filter((operation) => operation === 'PutImage')).toHaveLength(2);
    expect(run.stdout).not.toContain('Building with');
  }, 120_000);

  test('promote from a tag that does not exist fails naming it', async () => {
    const run = await build({ 'source-tag': 'sha-nope', tags: 'prod' });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('web has no image tagged sha-nope');
  }, 60_000);

  test('immutable repository with the tag taken: a clear error before anything is pushed', async () => {
    const first = await build({ repository: 'api', 'tag-mutability': 'IMMUTABLE', tags: 'v1' });
    expect(first.exitCode).toBe(0);
    writeFileSync(join(workspace, 'app', 'hello.txt'), 'hello, changed\n');
    try {
      const before = (await world.calls()).length;
      const run = await build({ repository: 'api', 'tag-mutability': 'IMMUTABLE', tags: 'v1' }, { sha: SHA_2 });
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toMatch(/Repository api has immutable tags, and v1 \(on sha256:[0-9a-f]+\) already names another image .* Nothing was pushed\./);
      const calls = await callsSince(before);
      expect(calls.filter((call) => call.mutating)).toEqual([]);
      expect(calls.map((call) => call.operation)).not.toContain('GetAuthorizationToken');
      expect(await imagesOf('api')).toHaveLength(1);
    } finally {
      writeFileSync(join(workspace, 'app', 'hello.txt'), 'hello from pr-7\n');
    }
  }, 120_000);

  test('content-key paths: a new commit with the same contents skips; a changed file builds', async () => {
    const inputs = { repository: 'keyed', 'content-key': 'app', tags: 'latest-build' };
    const first = await build(inputs, { sha: SHA_1 });
    expect(first.outputs['content-key']).toMatch(/^src-[0-9a-f]{40}$/);
    const same = await build(inputs, { sha: SHA_2 });
    expect(same.outputs.skipped).toBe('true');
    expect(same.outputs['content-key']).toBe(first.outputs['content-key']);
    writeFileSync(join(workspace, 'app', 'extra.txt'), 'new file\n');
    try {
      const changed = await build(inputs, { sha: SHA_2 });
      expect(changed.exitCode).toBe(0);
      expect(changed.outputs.skipped).toBe('false');
      expect(changed.outputs['content-key']).not.toBe(first.outputs['content-key']);
      expect(changed.outputs.digest).not.toBe(first.outputs.digest);
    } finally {
      rmSync(join(workspace, 'app', 'extra.txt'));
    }
  }, 180_000);

  test('two platforms: one multi-platform index is pushed', async () => {
    const run = await build({ repository: 'multi', platforms: 'linux/amd64,linux/arm64', tags: 'both' });
    expect(run.exitCode).toBe(0);
    const images = (await ecr.send(new DescribeImagesCommand({ repositoryName: 'multi' }))).imageDetails ?? [];
    const index = images.find((image) => image.imageDigest === run.outputs.digest);
    expect(index?.imageManifestMediaType).toMatch(/index|manifest\.list/);
    expect(index?.imageTags).toContain('both');
    const manifest = (await ecr.send(new BatchGetImageCommand({ repositoryName: 'multi', imageIds: [{ imageTag: 'both' }] }))).images?.[0]?.imageManifest;
    const platforms = (JSON.parse(manifest ?? '{}').manifests ?? []).map((entry: { platform: { architecture: string } }) => entry.platform.architecture);
    expect(platforms.sort()).toEqual(['amd64', 'arm64']);
    // The two platform manifests, untagged, beside the index.
    expect(images.filter((image) => !image.imageTags)).toHaveLength(2);
    // Not the plain commit: the same commit built for one platform is another image.
    expect(run.outputs['content-key']).toMatch(new RegExp(`^${SHA_1}-[0-9a-f]{12}$`));
  }, 120_000);

  /** A new runner: RUNNER_TEMP empty (no local layers), and an Actions cache service that would accept anything. */
  function freshRunner(): Record<string, string> {
    const runnerTemp = `${workspace}-fresh-runner`;
    rmSync(runnerTemp, { recursive: true, force: true });
    mkdirSync(runnerTemp);
    return {
      RUNNER_TEMP: runnerTemp,
      ACTIONS_CACHE_SERVICE_V2: 'True',
      ACTIONS_RESULTS_URL: `${world.emulator.endpoint}/_actions-cache/`,
      ACTIONS_RUNTIME_TOKEN: 'runtime-token-for-the-cache',
    };
  }

  function layeredContext(version: string): void {
    mkdirSync(join(workspace, 'layered'), { recursive: true });
    writeFileSync(join(workspace, 'layered', 'big.bin'), randomBytes(1024 * 1024));
    writeFileSync(join(workspace, 'layered', 'app.txt'), version);
    writeFileSync(join(workspace, 'layered', 'Dockerfile'), 'FROM scratch\nCOPY big.bin /big.bin\nCOPY app.txt /app.txt\n');
  }

  const traffic = () => world.emulator.registry?.traffic() ?? { pulledBytes: 0, pushedBytes: 0 };
  /** Straight from the registry behind ECR: what a runtime pulling the image would get. */
  const manifestOf = async (repository: string, digest: string) => {
    const response = await fetch(`${world.emulator.registry?.backendUrl}/v2/${repository}/manifests/${digest}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
    });
    return { body: await response.text() };
  };
  const labelsOf = async (repository: string, digest: string): Promise<Record<string, string>> => {
    const config = JSON.parse((await manifestOf(repository, digest)).body).config.digest;
    const blob = await fetch(`${world.emulator.registry?.backendUrl}/v2/${repository}/blobs/${config}`);
    return ((await blob.json()) as { config: { Labels: Record<string, string> } }).config.Labels;
  };

  test('layer cache in layered-cache: a new runner pulls only the unchanged layer and pushes only the changed one', async () => {
    layeredContext('v1');
    const inputs = { repository: 'layered', context: 'layered', cache: 'true' };
    const first = await build(inputs, { sha: SHA_1, env: freshRunner() });
    expect(first.exitCode).toBe(0);
    expect(first.summary).toContain('Layer cache | registry, layered-cache');

    const image = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['layered'] }))).repositories?.[0];
    const cache = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['layered-cache'] }))).repositories?.[0];
    expect(cache?.imageTagMutability).toBe('MUTABLE');
    const tagsOf = async (arn: string | undefined) =>
      ((await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags ?? []).map((tag) => `${tag.Key}=${tag.Value}`).sort();
    expect(await tagsOf(cache?.repositoryArn)).toEqual(await tagsOf(image?.repositoryArn));
    const policy = JSON.parse((await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'layered-cache' }))).lifecyclePolicyText ?? '{}');
    expect(policy.rules).toEqual([expect.objectContaining({ selection: expect.objectContaining({ tagStatus: 'any', countType: 'sinceImagePushed' }) })]);
    // The cache is the registry's, not the Actions cache's.
    expect((await world.control<{ entries: unknown[] }>('/_emulator/actions-cache')).entries).toEqual([]);

    writeFileSync(join(workspace, 'layered', 'app.txt'), 'v2');
    const before = traffic();
    const second = await build(inputs, { sha: SHA_2, env: freshRunner() });
    const moved = { pulled: traffic().pulledBytes - before.pulledBytes, pushed: traffic().pushedBytes - before.pushedBytes };
    expect(second.exitCode).toBe(0);
    expect(second.outputs.skipped).toBe('false');
    expect(second.stdout).toMatch(/STEP 2\/\d+: COPY big\.bin \/big\.bin\s+--> Cache pulled from remote \S+\/layered-cache:[0-9a-f]{64}/);
    expect(second.stdout).toMatch(/STEP 3\/\d+: COPY app\.txt \/app\.txt\s+(COMMIT \S+\s+)?--> Pushing cache/);
    // The 1 MiB layer comes down once (it is random, so it does not compress) and goes up nowhere.
    expect(moved.pulled).toBeGreaterThan(1024 * 1024);
    expect(moved.pulled).toBeLessThan(1.2 * 1024 * 1024);
    expect(moved.pushed).toBeLessThan(100 * 1024);
    expect(second.stdout).toMatch(/Pushed layered:\S+ \(\d+ (B|kB) uploaded, 1\.\d MB already in layered\)/);
    expect((await world.control<{ entries: unknown[] }>('/_emulator/actions-cache')).entries).toEqual([]);
    expect(leakedSecrets(second)).toEqual([]);

    expect(await labelsOf('layered', second.outputs.digest ?? '')).toMatchObject({ 'org.opencontainers.image.revision': SHA_2 });

    // A new commit with the same inputs: no build at all, the same layers with the new commit's labels.
    const SHA_3 = '3'.repeat(40);
    const beforeThird = traffic();
    const third = await build(inputs, { sha: SHA_3, env: freshRunner() });
    expect(third.exitCode).toBe(0);
    expect(third.stdout).toContain('Reusing the layers of layered-cache:context-');
    expect(third.stdout).not.toContain('STEP 1');
    expect(traffic().pulledBytes - beforeThird.pulledBytes).toBeLessThan(10 * 1024);
    expect(traffic().pushedBytes - beforeThird.pushedBytes).toBeLessThan(10 * 1024);
    expect(third.outputs.digest).not.toBe(second.outputs.digest);
    expect(await labelsOf('layered', third.outputs.digest ?? '')).toMatchObject({ 'org.opencontainers.image.revision': SHA_3 });
    const layers = async (digest: string) => JSON.parse((await manifestOf('layered', digest)).body).layers;
    expect(await layers(third.outputs.digest ?? '')).toEqual(await layers(second.outputs.digest ?? ''));

    // The image is whole: ECR lists it with both layers' bytes under every tag.
    const detail = (await ecr.send(new DescribeImagesCommand({ repositoryName: 'layered', imageIds: [{ imageDigest: second.outputs.digest }] })))
      .imageDetails?.[0];
    expect(detail?.imageSizeInBytes).toBeGreaterThan(1024 * 1024);
    expect([...(detail?.imageTags ?? [])].sort()).toEqual([SHA_2, second.outputs['content-key']].sort());
  }, 240_000);

  test("an existing repository's cache repository is created with that repository's ecs-deploy-actions tags", async () => {
    await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'owned',
        tags: [
          { Key: 'ecs-deploy-actions:managed-by', Value: 'ecs-deploy-actions' },
          { Key: 'ecs-deploy-actions:repository', Value: 'acme/owned' },
          { Key: 'team', Value: 'payments' },
        ],
      }),
    );
    const run = await build({ repository: 'owned', cache: 'true', tags: 'one' }, { sha: SHA_1, env: freshRunner() });
    expect(run.exitCode).toBe(0);
    const arn = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['owned-cache'] }))).repositories?.[0]?.repositoryArn;
    const tags = (await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags ?? [];
    // The policy lets the action set its own tag keys only (aws:TagKeys): the owner's others are theirs to add.
    expect(tags.map((tag) => `${tag.Key}=${tag.Value}`).sort()).toEqual([
      'ecs-deploy-actions:managed-by=ecs-deploy-actions',
      'ecs-deploy-actions:repository=acme/owned',
    ]);
  }, 120_000);

  test('a later step of the same job, its layers all local: still pushed through the cache repository, labelled', async () => {
    const job = freshRunner();
    const first = await build({ repository: 'samejob', tags: 'first' }, { sha: SHA_1, env: job });
    expect(first.exitCode).toBe(0);
    const second = await build({ repository: 'samejob', cache: 'true', tags: 'second' }, { sha: SHA_2, env: job });
    expect(second.exitCode).toBe(0);
    // buildah pushes a cache image for the final commit even when this job's storage served every step.
    expect(second.stdout).toMatch(/--> Using cache [0-9a-f]+\s+COMMIT \S+\s+--> Pushing cache/);
    expect(await labelsOf('samejob', second.outputs.digest ?? '')).toMatchObject({ 'org.opencontainers.image.revision': SHA_2 });
  }, 180_000);

  test('cache: false builds without a cache repository', async () => {
    const run = await build({ repository: 'uncached', tags: 'one' }, { sha: SHA_1, env: freshRunner() });
    expect(run.exitCode).toBe(0);
    expect(run.summary).toContain('Layer cache | off (cache: false)');
    const names = ((await ecr.send(new DescribeRepositoriesCommand({}))).repositories ?? []).map((repository) => repository.repositoryName);
    expect(names).toContain('uncached');
    expect(names).not.toContain('uncached-cache');
  }, 120_000);

  test('dry run: the plan, and nothing created', async () => {
    const before = (await world.calls()).length;
    const run = await build({ repository: 'planned', cache: 'true', 'dry-run': 'true' }, { sha: SHA_1 });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/Plan: build with buildah for linux\/amd64, push planned:/);
    expect(run.stdout).toContain('Layer cache: planned-cache: create (tags MUTABLE');
    expect(run.summary).toContain('Dry run: nothing changed');
    expect((await callsSince(before)).filter((call) => call.mutating)).toEqual([]);
  }, 60_000);

  test('bad inputs are refused before any AWS call', async () => {
    const before = (await world.calls()).length;
    const run = await build({ dockerfile: 'app/Nope.Dockerfile', 'lifecycle-policy': '{"rules": oops' });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('Input "dockerfile": "app/Nope.Dockerfile" does not exist in the workspace.');
    expect(run.stdout).toContain('Input "lifecycle-policy": is not JSON');
    expect(await callsSince(before)).toEqual([]);
  }, 60_000);
});
