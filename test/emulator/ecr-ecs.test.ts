// ECS pulls from the emulator's registry: a missing tag fails the pull as on AWS, and an image's
// `ecs-emulator.behaviour` label decides how its task runs.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateRepositoryCommand, ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';

const exec = promisify(execFile);
const present = (bin: string) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
const canPush = present('buildah') && present('docker-registry');
if (!canPush) console.warn('ecr-ecs.test: skipping: buildah or docker-registry is not installed (apt-get install -y buildah docker-registry)');

let emu: RunningEmulator;
let work: string;
let cfg: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string }; maxAttempts: number };

beforeAll(async () => {
  emu = await startEmulator({ registry: canPush });
  cfg = { endpoint: emu.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 };
  work = await mkdtemp(join(tmpdir(), 'ecr-ecs-test-'));
});
afterAll(async () => {
  await emu.stop();
  await rm(work, { recursive: true, force: true });
});

(canPush ? it : it.skip)('runs a pushed image with the behaviour its label names, and fails to pull a missing tag', async () => {
  const ecr = new ECRClient(cfg);
  const ecs = new ECSClient(cfg);
  const ec2 = new EC2Client(cfg);
  try {
    const uri = (await ecr.send(new CreateRepositoryCommand({ repositoryName: 'crasher' }))).repository?.repositoryUri as string;
    const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0]?.authorizationToken as string;
    const ctxDir = join(work, 'ctx');
    await exec('mkdir', ['-p', ctxDir]);
    await writeFile(join(ctxDir, 'Containerfile'), `FROM scratch\nLABEL ecs-emulator.behaviour='{"kind":"crash","exitCode":3}'\n`);
    const b = ['--storage-driver', 'vfs', '--root', join(work, 'root'), '--runroot', join(work, 'runroot')];
    await exec('buildah', [...b, 'bud', '--isolation', 'chroot', '-q', '-t', `${uri}:v1`, ctxDir]);
    await exec('buildah', [...b, 'push', '--tls-verify=false', '--creds', Buffer.from(token, 'base64').toString(), `${uri}:v1`]);

    const subnets = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets?.map((s) => s.SubnetId as string) ?? [];
    await ecs.send(new CreateClusterCommand({ clusterName: 'c' }));
    const run = async (image: string) => {
      const family = `f${image.length}`;
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family,
          requiresCompatibilities: ['FARGATE'],
          networkMode: 'awsvpc',
          cpu: '256',
          memory: '512',
          containerDefinitions: [{ name: 'app', image, essential: true }],
        }),
      );
      const out = await ecs.send(
        new RunTaskCommand({ cluster: 'c', taskDefinition: family, launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets } } }),
      );
      return out.tasks?.[0]?.taskArn as string;
    };
    const crashing = await run(`${uri}:v1`);
    const missing = await run(`${uri}:nope`);
    for (let i = 0; i < 10; i++) {
      await fetch(`${emu.endpoint}/_emulator/clock`, { method: 'POST', body: JSON.stringify({ advanceSeconds: 60 }) });
      // The pull resolves through the registry's HTTP API: give it wall time too.
      await new Promise((r) => setTimeout(r, 20));
    }
    const tasks = (await ecs.send(new DescribeTasksCommand({ cluster: 'c', tasks: [crashing, missing] }))).tasks ?? [];
    const byArn = new Map(tasks.map((t) => [t.taskArn, t]));
    expect(byArn.get(crashing)).toMatchObject({
      lastStatus: 'STOPPED',
      containers: [expect.objectContaining({ exitCode: 3, imageDigest: expect.stringMatching(/^sha256:/) })],
    });
    expect(byArn.get(missing)).toMatchObject({
      lastStatus: 'STOPPED',
      stopCode: 'TaskFailedToStart',
      stoppedReason: expect.stringMatching(/^CannotPullContainerError: .*crasher:nope: not found$/),
    });
  } finally {
    ecr.destroy();
    ecs.destroy();
    ec2.destroy();
  }
});
