// teardown-env with delete-images: the environment's tag goes, the image's other tags and the layer cache stay.

import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateRepositoryCommand, DescribeImagesCommand, ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { CreateClusterCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startWorld, type World } from '../helpers/world.ts';

const exec = promisify(execFile);
const canPush = ['buildah', 'docker-registry'].every((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);
if (!canPush) console.warn('teardown-images.test: skipped: buildah or docker-registry is not installed (apt-get install -y buildah docker-registry)');
const testPush = canPush ? test : test.skip;

let world: World;
let ecr: ECRClient;
let work: string;
beforeAll(async () => {
  world = await startWorld({ registry: canPush });
  ecr = new ECRClient({ endpoint: world.emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } });
  work = await mkdtemp(join(tmpdir(), 'teardown-images-'));
});
afterAll(async () => {
  ecr.destroy();
  await world.stop();
  await rm(work, { recursive: true, force: true });
});

testPush(
  'the pr-5 tag is deleted, sha-1 stays, the cache repository is untouched; a second run changes nothing',
  async () => {
    const repository = (await ecr.send(new CreateRepositoryCommand({ repositoryName: 'web' }))).repository?.repositoryUri ?? '';
    // build-push-ecr's layer cache beside it, holding an image under the environment's own name too.
    const cacheRepository = (await ecr.send(new CreateRepositoryCommand({ repositoryName: 'web-cache' }))).repository?.repositoryUri ?? '';
    const buildah = (...args: string[]) =>
      exec('buildah', ['--storage-driver', 'vfs', '--root', join(work, 'root'), '--runroot', join(work, 'runroot'), ...args]);
    await writeFile(join(work, 'hello.txt'), 'hello');
    await writeFile(join(work, 'Containerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    await buildah('bud', '--isolation', 'chroot', '-q', '-t', `${repository}:pr-5`, work);
    await buildah('tag', `${repository}:pr-5`, `${repository}:sha-1`);
    await buildah('tag', `${repository}:pr-5`, `${cacheRepository}:pr-5`);
    await buildah('tag', `${repository}:pr-5`, `${cacheRepository}:${'c'.repeat(64)}`);
    const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0]?.authorizationToken ?? '';
    const creds = Buffer.from(token, 'base64').toString();
    for (const image of [`${repository}:pr-5`, `${repository}:sha-1`, `${cacheRepository}:pr-5`, `${cacheRepository}:${'c'.repeat(64)}`]) {
      await buildah('push', '--tls-verify=false', '--creds', creds, image);
    }
    const cacheImages = async () =>
      (await ecr.send(new DescribeImagesCommand({ repositoryName: 'web-cache' }))).imageDetails?.flatMap((image) => image.imageTags ?? []).sort();
    await world.ecs.send(new CreateClusterCommand({ clusterName: 'previews' }));

    const start = (await world.calls()).length;
    const run = await world.run('teardown-env', { inputs: { cluster: 'previews', environment: 'pr-5', 'delete-images': 'true', repository: 'web' } });
    expect(run.exitCode).toBe(0);
    expect(run.outputs.deleted).toBe('1');
    expect(run.stdout).toContain('deleted web:pr-5');
    const images = await ecr.send(new DescribeImagesCommand({ repositoryName: 'web' }));
    expect(images.imageDetails?.flatMap((image) => image.imageTags ?? [])).toEqual(['sha-1']);
    expect((await world.calls()).slice(start).filter((call) => call.parameters.repositoryName === 'web-cache')).toEqual([]);
    expect(await cacheImages()).toEqual(['c'.repeat(64), 'pr-5']);

    const before = (await world.calls()).length;
    const again = await world.run('teardown-env', { inputs: { cluster: 'previews', environment: 'pr-5', 'delete-images': 'true', repository: 'web' } });
    expect(again.outputs.deleted).toBe('0');
    expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
  },
  120_000,
);
