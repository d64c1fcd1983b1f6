// The ECR layer of build-push-ecr: exact request shapes (nock at the real ECR hostname), tag plans, content keys.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECRClient } from '@aws-sdk/client-ecr';
import { describe, expect, test } from '@jest/globals';
import nock from 'nock';
import { awsSettings, createClient } from '../../src/aws.ts';
import { planTags, type TaggedImage } from '../../src/ecr/images.ts';
import { DEFAULT_LIFECYCLE_POLICY, ensureRepository } from '../../src/ecr/repository.ts';
import { ActionError } from '../../src/errors.ts';
import { type BuildSettings, commitKey, pathsKey } from '../../src/image/content-key.ts';
import { useNock } from '../helpers/nock.ts';

const ecrHost = 'https://api.ecr.us-east-1.amazonaws.com';
const json = { 'content-type': 'application/x-amz-json-1.1' };
const repository = { repositoryName: 'web', repositoryUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/web', imageTagMutability: 'MUTABLE' };

useNock({ awsCredentials: true });

const ecr = () => createClient(ECRClient, awsSettings('build-push-ecr', { AWS_REGION: 'us-east-1' }));

/** Answers each ECR operation in turn and records the request bodies. */
function ecrReplies(replies: Record<string, [number, unknown][]>): { target: string; body: Record<string, unknown> }[] {
  const seen: { target: string; body: Record<string, unknown> }[] = [];
  nock(ecrHost)
    .persist()
    .post('/')
    .reply(async (request: Request) => {
      const target = (request.headers.get('x-amz-target') ?? '').replace('AmazonEC2ContainerRegistry_V20150921.', '');
      seen.push({ target, body: (await request.json()) as Record<string, unknown> });
      const next = replies[target]?.shift();
      if (!next) return [500, { __type: 'UnexpectedCall', message: target }, json];
      return [next[0], next[1], { ...json, ...(next[0] >= 400 ? { 'x-amzn-errortype': (next[1] as { __type: string }).__type } : {}) }];
    });
  return seen;
}

describe('ensureRepository', () => {
  test('creates a missing repository with scan on push, the tag mutability and our tag, then puts the default policy', async () => {
    const seen = ecrReplies({
      DescribeRepositories: [[400, { __type: 'RepositoryNotFoundException', message: 'no' }]],
      CreateRepository: [[200, { repository }]],
      GetLifecyclePolicy: [[400, { __type: 'LifecyclePolicyNotFoundException', message: 'none' }]],
      PutLifecyclePolicy: [[200, {}]],
    });
    const ensured = await ensureRepository(ecr(), { name: 'web', tagMutability: 'IMMUTABLE', lifecyclePolicy: undefined });
    expect(ensured).toMatchObject({ created: true, lifecyclePolicy: 'put' });
    expect(seen.find((call) => call.target === 'CreateRepository')?.body).toEqual({
      repositoryName: 'web',
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      tags: [{ Key: 'ecs-deploy-actions:managed-by', Value: 'ecs-deploy-actions' }],
    });
    expect(seen.find((call) => call.target === 'PutLifecyclePolicy')?.body).toEqual({ repositoryName: 'web', lifecyclePolicyText: DEFAULT_LIFECYCLE_POLICY });
  });

  test('another job creating it first is not an error: its repository is used', async () => {
    const seen = ecrReplies({
      DescribeRepositories: [
        [400, { __type: 'RepositoryNotFoundException', message: 'no' }],
        [200, { repositories: [repository] }],
      ],
      CreateRepository: [[400, { __type: 'RepositoryAlreadyExistsException', message: 'exists' }]],
      GetLifecyclePolicy: [[200, { lifecyclePolicyText: DEFAULT_LIFECYCLE_POLICY }]],
    });
    const ensured = await ensureRepository(ecr(), { name: 'web', tagMutability: 'MUTABLE', lifecyclePolicy: undefined });
    expect(ensured).toMatchObject({ created: false, lifecyclePolicy: 'kept' });
    expect(seen.map((call) => call.target)).toEqual(['DescribeRepositories', 'CreateRepository', 'DescribeRepositories', 'GetLifecyclePolicy']);
  });

  test("an existing repository's own policy is kept unless a policy is given; the same policy is not put again", async () => {
    ecrReplies({
      DescribeRepositories: [[200, { repositories: [repository] }]],
      GetLifecyclePolicy: [[200, { lifecyclePolicyText: '{"rules":[{"rulePriority":1}]}' }]],
    });
    expect((await ensureRepository(ecr(), { name: 'web', tagMutability: 'MUTABLE', lifecyclePolicy: undefined })).lifecyclePolicy).toBe('kept');
    nock.cleanAll();
    const seen = ecrReplies({
      DescribeRepositories: [[200, { repositories: [repository] }]],
      GetLifecyclePolicy: [[200, { lifecyclePolicyText: '{"rules":[{"rulePriority":1}]}' }]],
    });
    const same = await ensureRepository(ecr(), { name: 'web', tagMutability: 'MUTABLE', lifecyclePolicy: '{ "rules": [ { "rulePriority": 1 } ] }' });
    expect(same.lifecyclePolicy).toBe('unchanged');
    expect(seen.map((call) => call.target)).not.toContain('PutLifecyclePolicy');
  });

  test('the default policy keeps released images ahead of the rule that expires pr-* images', () => {
    const rules = (JSON.parse(DEFAULT_LIFECYCLE_POLICY) as { rules: { rulePriority: number; selection: { tagPatternList?: string[]; countType: string } }[] })
      .rules;
    const priorityOf = (pattern: string) => rules.find((rule) => rule.selection.tagPatternList?.includes(pattern))?.rulePriority ?? 0;
    for (const release of ['v*', 'prod*']) expect(priorityOf(release)).toBeLessThan(priorityOf('pr-*'));
    expect(rules.find((rule) => rule.selection.tagPatternList?.includes('v*'))?.selection.countType).toBe('imageCountMoreThan');
  });
});

describe('planTags', () => {
  const image = (digest: string): TaggedImage => ({ digest, manifest: '{}', mediaType: undefined });
  const current = new Map([
    ['sha-1', image('sha256:aaa')],
    ['prod', image('sha256:bbb')],
  ]);

  test('adds what is missing, leaves what is there, moves tags in a mutable repository', () => {
    expect(planTags({ repository: 'web', digest: 'sha256:aaa', wanted: ['sha-1', 'prod', 'v2'], current, immutable: false })).toEqual({
      add: ['prod', 'v2'],
      present: ['sha-1'],
      moved: ['prod'],
    });
  });

  test('refuses to move a tag in an immutable repository, naming the tag and both images', () => {
    const plan = () => planTags({ repository: 'web', digest: 'sha256:aaa', wanted: ['sha-1', 'prod'], current, immutable: true });
    expect(plan).toThrow(ActionError);
    expect(plan).toThrow('prod (on sha256:bbb) already names another image than sha256:aaa');
  });
});

describe('content keys', () => {
  const settings: BuildSettings = { context: '.', dockerfile: 'Dockerfile', buildArgs: [], target: undefined, platforms: ['linux/amd64'], labels: [] };

  test('the commit alone with default settings; any setting that changes the image changes the key', () => {
    const sha = 'a'.repeat(40);
    expect(commitKey(sha, settings).tag).toBe(sha);
    const variants = [
      { ...settings, buildArgs: [['MODE', 'debug']] as [string, string][] },
      { ...settings, target: 'test' },
      { ...settings, platforms: ['linux/arm64'] },
      { ...settings, context: 'api', dockerfile: 'api/Dockerfile' },
    ];
    const tags = variants.map((variant) => commitKey(sha, variant).tag);
    for (const tag of tags) expect(tag).toMatch(new RegExp(`^${sha}-[0-9a-f]{12}$`));
    expect(new Set(tags).size).toBe(variants.length);
    // Order of build args and platforms does not matter.
    expect(commitKey(sha, { ...settings, platforms: ['linux/arm64', 'linux/amd64'] }).tag).toBe(
      commitKey(sha, { ...settings, platforms: ['linux/amd64', 'linux/arm64'] }).tag,
    );
  });

  test('paths: the same contents give the same key wherever they are; one changed byte changes it', () => {
    const root = mkdtempSync(join(tmpdir(), 'content-key-'));
    try {
      writeFileSync(join(root, 'Dockerfile'), 'FROM scratch\nCOPY a.txt /a.txt\n');
      writeFileSync(join(root, 'a.txt'), 'one');
      const first = pathsKey(root, ['a.txt', 'Dockerfile'], settings);
      expect(first.tag).toMatch(/^src-[0-9a-f]{40}$/);
      expect(pathsKey(root, ['Dockerfile', 'a.txt'], settings).tag).toBe(first.tag);
      writeFileSync(join(root, 'a.txt'), 'one!');
      expect(pathsKey(root, ['a.txt', 'Dockerfile'], settings).tag).not.toBe(first.tag);
      expect(() => pathsKey(root, ['missing'], settings)).toThrow('Input "content-key": lists "missing", which does not exist in the workspace.');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
