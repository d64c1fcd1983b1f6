// ECR through the real SDK client; image data pushed by real buildah into the emulator's registry.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  GetLifecyclePolicyCommand,
  ListImagesCommand,
  ListTagsForResourceCommand,
  PutImageCommand,
  PutImageScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  PutLifecyclePolicyCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';

const exec = promisify(execFile);
const present = (bin: string) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
const canPush = present('buildah') && present('docker-registry');
if (!canPush) console.warn('ecr.test: skipping image tests: buildah or docker-registry is not installed (apt-get install -y buildah docker-registry)');
const itPush = canPush ? it : it.skip;

let emu: RunningEmulator;
let ecr: ECRClient;
let work: string;

beforeAll(async () => {
  emu = await startEmulator({ registry: canPush });
  ecr = new ECRClient({ endpoint: emu.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
  work = await mkdtemp(join(tmpdir(), 'ecr-test-'));
});
afterAll(async () => {
  ecr.destroy();
  await emu.stop();
  await rm(work, { recursive: true, force: true });
});
beforeEach(async () => {
  await fetch(`${emu.endpoint}/_emulator/reset`, { method: 'POST' });
});

/** buildah without a daemon or privileges: vfs storage and chroot isolation in a temp dir. */
const buildah = (...args: string[]) => exec('buildah', ['--storage-driver', 'vfs', '--root', join(work, 'root'), '--runroot', join(work, 'runroot'), ...args]);

async function build(ref: string, content: string, behaviour?: string): Promise<void> {
  const ctxDir = await mkdtemp(join(work, 'ctx-'));
  await writeFile(join(ctxDir, 'hello.txt'), content);
  const label = behaviour ? `LABEL ecs-emulator.behaviour='${behaviour}'\n` : '';
  await writeFile(join(ctxDir, 'Containerfile'), `FROM scratch\nCOPY hello.txt /hello.txt\n${label}`);
  await buildah('bud', '--isolation', 'chroot', '-q', '-t', ref, ctxDir);
}

async function login(): Promise<string> {
  const auth = await ecr.send(new GetAuthorizationTokenCommand({}));
  const data = auth.authorizationData?.[0];
  expect(data?.proxyEndpoint).toBe(emu.registry?.url);
  expect(data?.expiresAt?.getTime()).toBeGreaterThan(Date.now());
  return Buffer.from(data?.authorizationToken ?? '', 'base64').toString();
}

const push = (ref: string, creds?: string) => buildah('push', '--tls-verify=false', ...(creds ? ['--creds', creds] : []), ref);

describe('repositories', () => {
  it('creates with settings and tags, validates names, refuses duplicates', async () => {
    const { repository } = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'shop/web',
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
        tags: [{ Key: 'ecs-deploy-actions:environment', Value: 'pr-1' }],
      }),
    );
    expect(repository).toMatchObject({
      repositoryName: 'shop/web',
      repositoryArn: 'arn:aws:ecr:us-east-1:123456789012:repository/shop/web',
      registryId: '123456789012',
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      createdAt: expect.any(Date),
    });
    // The URI names the registry real tools push to.
    expect(repository?.repositoryUri).toBe(`${emu.registry?.host ?? '123456789012.dkr.ecr.us-east-1.amazonaws.com'}/shop/web`);
    await expect(ecr.send(new CreateRepositoryCommand({ repositoryName: 'shop/web' }))).rejects.toMatchObject({
      name: 'RepositoryAlreadyExistsException',
      message: "The repository with name 'shop/web' already exists in the registry with id '123456789012'",
    });
    await expect(ecr.send(new CreateRepositoryCommand({ repositoryName: 'Shop' }))).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(ecr.send(new CreateRepositoryCommand({ repositoryName: 'a' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must have length greater than or equal to 2'",
    });
    await expect(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['nope'] }))).rejects.toMatchObject({
      name: 'RepositoryNotFoundException',
      message: "The repository with name 'nope' does not exist in the registry with id '123456789012'",
    });

    const arn = repository?.repositoryArn as string;
    await ecr.send(new TagResourceCommand({ resourceArn: arn, tags: [{ Key: 'team', Value: 'web' }] }));
    await ecr.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['ecs-deploy-actions:environment'] }));
    expect((await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags).toEqual([{ Key: 'team', Value: 'web' }]);

    await ecr.send(new PutImageTagMutabilityCommand({ repositoryName: 'shop/web', imageTagMutability: 'MUTABLE' }));
    await ecr.send(new PutImageScanningConfigurationCommand({ repositoryName: 'shop/web', imageScanningConfiguration: { scanOnPush: false } }));
    expect((await ecr.send(new DescribeRepositoriesCommand({}))).repositories?.[0]).toMatchObject({
      imageTagMutability: 'MUTABLE',
      imageScanningConfiguration: { scanOnPush: false },
    });
  });

  it('stores lifecycle policies', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'web' }));
    await expect(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'web' }))).rejects.toMatchObject({
      name: 'LifecyclePolicyNotFoundException',
      message: "Lifecycle policy does not exist for the repository with name 'web' in the registry with id '123456789012'",
    });
    const text = JSON.stringify({
      rules: [
        { rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 }, action: { type: 'expire' } },
      ],
    });
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'web', lifecyclePolicyText: text }));
    expect((await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'web' }))).lifecyclePolicyText).toBe(text);
    await expect(ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'web', lifecyclePolicyText: '{}' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
  });
});

describe('images in the registry', () => {
  itPush('push with the token, describe, retag by manifest, enforce immutability, resolve for ECS, delete', async () => {
    const host = emu.registry?.host as string;
    const { repository } = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'shop/web', imageTagMutability: 'IMMUTABLE' }));
    const ref = `${repository?.repositoryUri}:v1`;
    await build(ref, 'one', '{"kind":"crash","exitCode":3}');

    // Like ECR: no credentials, no push; an unknown repository is refused.
    await expect(push(ref)).rejects.toThrow(/unauthorized|authentication required|401/i);
    const creds = await login();
    await build(`${host}/missing:v1`, 'one');
    await expect(push(`${host}/missing:v1`, creds)).rejects.toThrow(/does not exist/);
    await push(ref, creds);

    const described = await ecr.send(new DescribeImagesCommand({ repositoryName: 'shop/web' }));
    expect(described.imageDetails).toHaveLength(1);
    const image = described.imageDetails?.[0];
    expect(image).toMatchObject({
      registryId: '123456789012',
      repositoryName: 'shop/web',
      imageDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      imageTags: ['v1'],
      imageSizeInBytes: expect.any(Number),
      imagePushedAt: expect.any(Date),
      imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    });
    const digest = image?.imageDigest as string;
    const byDigest = await ecr.send(new DescribeImagesCommand({ repositoryName: 'shop/web', imageIds: [{ imageDigest: digest }] }));
    expect(byDigest.imageDetails?.[0]?.imageTags).toEqual(['v1']);
    await expect(ecr.send(new DescribeImagesCommand({ repositoryName: 'shop/web', imageIds: [{ imageTag: 'v9' }] }))).rejects.toMatchObject({
      name: 'ImageNotFoundException',
      message:
        "The image with imageId {imageDigest:'null', imageTag:'v9'} does not exist within the repository with name 'shop/web' in the registry with id '123456789012'",
    });

    // Retag without moving blobs: BatchGetImage's manifest, PutImage under a new tag, same digest.
    const got = await ecr.send(new BatchGetImageCommand({ repositoryName: 'shop/web', imageIds: [{ imageTag: 'v1' }, { imageTag: 'nope' }] }));
    expect(got.failures).toEqual([{ imageId: { imageTag: 'nope' }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }]);
    const manifest = got.images?.[0]?.imageManifest as string;
    const put = await ecr.send(new PutImageCommand({ repositoryName: 'shop/web', imageTag: 'stable', imageManifest: manifest }));
    expect(put.image?.imageId).toEqual({ imageDigest: digest, imageTag: 'stable' });
    const both = await ecr.send(new DescribeImagesCommand({ repositoryName: 'shop/web' }));
    expect(both.imageDetails).toHaveLength(1);
    expect(both.imageDetails?.[0]?.imageTags?.sort()).toEqual(['stable', 'v1']);
    const listed = await ecr.send(new ListImagesCommand({ repositoryName: 'shop/web', filter: { tagStatus: 'TAGGED' } }));
    expect(listed.imageIds?.sort((a, b) => String(a.imageTag).localeCompare(String(b.imageTag)))).toEqual([
      { imageDigest: digest, imageTag: 'stable' },
      { imageDigest: digest, imageTag: 'v1' },
    ]);
    await expect(ecr.send(new PutImageCommand({ repositoryName: 'shop/web', imageTag: 'stable', imageManifest: manifest }))).rejects.toMatchObject({
      name: 'ImageAlreadyExistsException',
    });

    // Immutable: a different image may not take an existing tag, by PutImage or by a direct push.
    await build(`${repository?.repositoryUri}:v2`, 'two');
    await push(`${repository?.repositoryUri}:v2`, creds);
    const other = (await ecr.send(new BatchGetImageCommand({ repositoryName: 'shop/web', imageIds: [{ imageTag: 'v2' }] }))).images?.[0]
      ?.imageManifest as string;
    await expect(ecr.send(new PutImageCommand({ repositoryName: 'shop/web', imageTag: 'v1', imageManifest: other }))).rejects.toMatchObject({
      name: 'ImageTagAlreadyExistsException',
      message: "The image tag 'v1' already exists in the 'shop/web' repository and cannot be overwritten because the repository is immutable.",
    });
    await buildah('tag', `${repository?.repositoryUri}:v2`, ref);
    await expect(push(ref, creds)).rejects.toThrow(/cannot be overwritten because the repository is immutable/);
    expect((await ecr.send(new DescribeImagesCommand({ repositoryName: 'shop/web', imageIds: [{ imageTag: 'v1' }] }))).imageDetails?.[0]?.imageDigest).toBe(
      digest,
    );

    // What ECS learns when it pulls.
    const resolved = await emu.context.images.resolve(ref);
    expect(resolved).toMatchObject({ found: true, digest, labels: { 'ecs-emulator.behaviour': '{"kind":"crash","exitCode":3}' } });
    expect(await emu.context.images.resolve(`${host}/shop/web@${digest}`)).toMatchObject({ found: true, digest });
    expect(await emu.context.images.resolve(`${host}/shop/web:v404`)).toEqual({
      found: false,
      reason: `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${host}/shop/web:v404: ${host}/shop/web:v404: not found`,
    });
    expect(await emu.context.images.resolve('nginx:1.27')).toEqual({ found: true });

    // Deleting one of two tags keeps the image; then the repository refuses deletion until forced.
    const del = await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'shop/web', imageIds: [{ imageTag: 'stable' }] }));
    expect(del.imageIds).toEqual([{ imageDigest: digest, imageTag: 'stable' }]);
    expect(
      (await ecr.send(new DescribeImagesCommand({ repositoryName: 'shop/web', imageIds: [{ imageDigest: digest }] }))).imageDetails?.[0]?.imageTags,
    ).toEqual(['v1']);
    await expect(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'shop/web' }))).rejects.toMatchObject({ name: 'RepositoryNotEmptyException' });
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'shop/web', force: true }));
    await expect(ecr.send(new DescribeImagesCommand({ repositoryName: 'shop/web' }))).rejects.toMatchObject({ name: 'RepositoryNotFoundException' });
  });

  itPush('a mutable tag moves to the new image and leaves the old one untagged', async () => {
    const { repository } = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'api' }));
    const ref = `${repository?.repositoryUri}:latest`;
    const creds = await login();
    await build(ref, 'old');
    await push(ref, creds);
    const first = (await ecr.send(new DescribeImagesCommand({ repositoryName: 'api' }))).imageDetails?.[0]?.imageDigest;
    await build(ref, 'new');
    await push(ref, creds);
    const untagged = await ecr.send(new DescribeImagesCommand({ repositoryName: 'api', filter: { tagStatus: 'UNTAGGED' } }));
    expect(untagged.imageDetails?.map((i) => [i.imageDigest, i.imageTags])).toEqual([[first, undefined]]);
    const tagged = await ecr.send(new DescribeImagesCommand({ repositoryName: 'api', imageIds: [{ imageTag: 'latest' }] }));
    expect(tagged.imageDetails?.[0]?.imageDigest).not.toBe(first);
    await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'api', imageIds: [{ imageDigest: first }] }));
    expect((await ecr.send(new DescribeImagesCommand({ repositoryName: 'api' }))).imageDetails).toHaveLength(1);
  });
});
