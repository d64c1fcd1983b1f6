// build-push-ecr's plan from a request and what exists: no emulator, no AWS, no builder.
import type { Repository } from '@aws-sdk/client-ecr';
import { describe, expect, test } from '@jest/globals';
import type { BuildPushEcrConfig, BuildPushSpec } from '../../src/actions/build-push-ecr.ts';
import type { TaggedImage } from '../../src/ecr/images.ts';
import { type Observed, planBuildPush } from '../../src/image/plan.ts';

const config: BuildPushEcrConfig = {
  repository: 'web',
  context: '.',
  dockerfile: undefined,
  buildArgs: undefined,
  target: undefined,
  platforms: ['linux/amd64'],
  labels: undefined,
  tags: undefined,
  sourceTag: undefined,
  builder: 'auto',
  contentKey: undefined,
  tagMutability: 'MUTABLE',
  lifecyclePolicy: undefined,
  cache: true,
  push: true,
  dryRun: false,
};
const KEY = 'a'.repeat(40);
const build = (overrides: Partial<BuildPushEcrConfig> = {}): BuildPushSpec => ({
  kind: 'build',
  config: { ...config, ...overrides },
  tags: [KEY, 'pr-7'],
  build: {
    contextDir: '/w',
    dockerfile: '/w/Dockerfile',
    settings: { context: '.', dockerfile: 'Dockerfile', buildArgs: [], target: undefined, platforms: ['linux/amd64'], labels: [] },
    contentKey: { tag: KEY, source: 'commit' },
  },
});
const repository = (name: string, mutability = 'MUTABLE'): Repository => ({
  repositoryName: name,
  repositoryArn: `arn:aws:ecr:us-east-1:123456789012:repository/${name}`,
  imageTagMutability: mutability as Repository['imageTagMutability'],
});
const image = (digest: string): TaggedImage => ({ digest, manifest: '{}', mediaType: 'application/vnd.oci.image.manifest.v1+json' });
const observed = (overrides: Partial<Observed> = {}): Observed => ({
  repository: undefined,
  repositoryTags: [],
  images: new Map(),
  cacheRepository: undefined,
  contextTag: undefined,
  contextImage: undefined,
  builders: { docker: false, buildx: false, buildah: true },
  ...overrides,
});

describe('build', () => {
  test('a new repository: create it and its cache repository, MUTABLE, with the same tags and the cache lifecycle policy', () => {
    const plan = planBuildPush(build(), observed());
    expect(plan.kind).toBe('build');
    if (plan.kind !== 'build') return;
    expect(plan.builder).toBe('buildah');
    expect(plan.repository).toMatchObject({ name: 'web', existing: undefined, scanOnPush: true });
    expect(plan.cache).toMatchObject({ name: 'web-cache', existing: undefined, tagMutability: 'MUTABLE', tags: plan.repository.tags, scanOnPush: false });
    expect(JSON.parse(plan.cache?.lifecyclePolicy ?? '{}').rules[0].selection).toMatchObject({ tagStatus: 'any', countType: 'sinceImagePushed' });
  });

  test("an existing immutable repository's own tags go to the cache repository, which stays MUTABLE; its owner's others do not", () => {
    const ours = [
      { Key: 'ecs-deploy-actions:managed-by', Value: 'ecs-deploy-actions' },
      { Key: 'ecs-deploy-actions:repository', Value: 'acme/web' },
    ];
    const plan = planBuildPush(
      build(),
      observed({ repository: repository('web', 'IMMUTABLE'), repositoryTags: [...ours, { Key: 'team', Value: 'payments' }] }),
    );
    expect(plan.kind === 'build' && plan.cache).toMatchObject({ tags: ours, tagMutability: 'MUTABLE' });
  });

  test('cache: false plans no cache repository', () => {
    const plan = planBuildPush(build({ cache: false }), observed());
    expect(plan.kind === 'build' && plan.cache).toBeUndefined();
  });

  test('an immutable tag on another image is refused before anything is built', () => {
    const images = new Map([['pr-7', image('sha256:other')]]);
    expect(() => planBuildPush(build(), observed({ repository: repository('web', 'IMMUTABLE'), images }))).toThrow(
      /pr-7 \(on sha256:other\) already names another image/,
    );
  });

  test('no builder on the runner: refused naming the builder input', () => {
    expect(() => planBuildPush(build(), observed({ builders: { docker: false, buildx: false, buildah: false } }))).toThrow(/builder/);
  });

  test('auto: docker with buildx, else buildah, else the docker daemon alone', () => {
    const builder = (docker: boolean, buildx: boolean, buildah: boolean) => {
      const plan = planBuildPush(build(), observed({ builders: { docker, buildx, buildah } }));
      return plan.kind === 'build' ? plan.builder : plan.kind;
    };
    expect(builder(true, true, true)).toBe('docker');
    expect(builder(true, false, true)).toBe('buildah');
    expect(builder(true, false, false)).toBe('docker');
  });

  test('docker without buildx and two platforms: refused naming the input, before anything is created', () => {
    const spec = build({ builder: 'docker', platforms: ['linux/amd64', 'linux/arm64'] });
    expect(() => planBuildPush(spec, observed({ builders: { docker: true, buildx: false, buildah: true } }))).toThrow(/platforms.*docker without buildx/);
    expect(planBuildPush(spec, observed({ builders: { docker: true, buildx: true, buildah: true } })).kind).toBe('build');
  });

  test('push: false builds only', () => {
    expect(planBuildPush(build({ push: false }), observed()).kind).toBe('build-only');
  });
});

describe('reuse', () => {
  test("the cache repository has an image under these inputs: no build, its layers with this run's labels", () => {
    const contextImage = image('sha256:unlabelled');
    const plan = planBuildPush(
      build(),
      observed({ repository: repository('web'), cacheRepository: repository('web-cache'), contextTag: 'context-1', contextImage }),
    );
    expect(plan).toMatchObject({ kind: 'reuse', contextTag: 'context-1', image: contextImage, cache: { name: 'web-cache' } });
  });

  test('with cache: false the inputs are never looked up, and a build tags none', () => {
    const plan = planBuildPush(build({ cache: false }), observed({ contextTag: 'context-1', contextImage: image('sha256:unlabelled') }));
    expect(plan).toMatchObject({ kind: 'build', contextTag: undefined });
  });

  test('a build under new inputs tags its unlabelled image with them', () => {
    expect(planBuildPush(build(), observed({ contextTag: 'context-2' }))).toMatchObject({ kind: 'build', contextTag: 'context-2' });
  });
});

describe('skip', () => {
  test('the image for the content key exists: skip, adding only the missing tags', () => {
    const images = new Map([[KEY, image('sha256:built')]]);
    const plan = planBuildPush(build(), observed({ repository: repository('web'), images, builders: undefined }));
    expect(plan).toMatchObject({ kind: 'skip', contentKey: KEY, image: { digest: 'sha256:built' }, tags: { add: ['pr-7'], present: [KEY] } });
  });
});

describe('promote', () => {
  const promote = (tags: string[]): BuildPushSpec => ({ kind: 'promote', config: { ...config, sourceTag: 'sha-1', tags }, tags, sourceTag: 'sha-1' });

  test('adds the tags to the source image', () => {
    const images = new Map([
      ['sha-1', image('sha256:one')],
      ['prod', image('sha256:old')],
    ]);
    const plan = planBuildPush(promote(['v1', 'prod']), observed({ repository: repository('web'), images, builders: undefined }));
    expect(plan).toMatchObject({ kind: 'promote', image: { digest: 'sha256:one' }, tags: { add: ['v1', 'prod'], moved: ['prod'] } });
  });

  test('a source tag that does not exist is refused naming it', () => {
    expect(() => planBuildPush(promote(['v1']), observed({ repository: repository('web'), builders: undefined }))).toThrow('web has no image tagged sha-1');
  });

  test('a repository that does not exist is refused', () => {
    expect(() => planBuildPush(promote(['v1']), observed({ builders: undefined }))).toThrow('ECR repository web does not exist');
  });
});
