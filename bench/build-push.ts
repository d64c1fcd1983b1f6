// build-push-ecr on fresh runners (empty RUNNER_TEMP: no local layers; an empty Actions cache), one registry:
// a cold build, a rebuild after a one-file change, a rebuild of a new commit with no change, the same commit
// again (skipped). Each with wall time and the blob bytes the registry served and received.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { startDockerDaemon } from '../test/helpers/docker.ts';
import { startWorld, type World } from '../test/helpers/world.ts';

export interface BuildRun {
  name: string;
  seconds: number;
  pulledBytes: number;
  pushedBytes: number;
  /** Entries the Actions cache holds after the run: the layer cache must not use it. */
  actionsCacheEntries: number;
  outcome: string;
}

export interface BuildFigures {
  imageBytes: number;
  runs: BuildRun[];
}

export function canBuildImages(): boolean {
  return ['buildah', 'docker-registry'].every((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);
}

/** `builder` docker needs `dockerd` on the PATH (Debian's docker.io); each run gets a fresh daemon. */
export async function measureBuildPush(builder: 'buildah' | 'docker'): Promise<BuildFigures> {
  const world = await startWorld({ registry: true });
  const workspace = mkdtempSync(join(tmpdir(), 'bench-build-'));
  const registry = world.emulator.registry;
  if (!registry) throw new Error('the emulator started without its registry');
  try {
    mkdirSync(join(workspace, 'app'));
    writeFileSync(join(workspace, 'app', 'runtime.bin'), randomBytes(24 * 1024 * 1024));
    writeFileSync(join(workspace, 'app', 'dependencies.bin'), randomBytes(8 * 1024 * 1024));
    writeFileSync(join(workspace, 'app', 'app.txt'), 'version 1\n');
    writeFileSync(
      join(workspace, 'app', 'Dockerfile'),
      'FROM scratch\nCOPY runtime.bin /runtime.bin\nCOPY dependencies.bin /deps.bin\nCOPY app.txt /app.txt\n',
    );

    const runnerTemp = `${workspace}-runner`;
    const runs: BuildRun[] = [];
    const run = async (name: string, sha: string) => {
      rmSync(runnerTemp, { recursive: true, force: true });
      mkdirSync(runnerTemp);
      const daemon = builder === 'docker' ? await startDockerDaemon(`${runnerTemp}-docker`) : undefined;
      const before = registry.traffic();
      try {
        const started = performance.now();
        const result = await world.run('build-push-ecr', {
          inputs: { repository: 'bench', context: 'app', builder },
          env: {
            ...(daemon ? { DOCKER_HOST: daemon.host } : {}),
            GITHUB_WORKSPACE: workspace,
            RUNNER_TEMP: runnerTemp,
            GITHUB_SHA: sha,
            ACTIONS_CACHE_SERVICE_V2: 'True',
            ACTIONS_RESULTS_URL: `${world.emulator.endpoint}/_actions-cache/`,
            ACTIONS_RUNTIME_TOKEN: 'bench-runtime-token',
          },
        });
        const seconds = (performance.now() - started) / 1000;
        if (result.exitCode !== 0) throw new Error(`build-push-ecr failed:\n${result.stdout}`);
        const after = registry.traffic();
        const entries = (await world.control<{ entries: unknown[] }>('/_emulator/actions-cache')).entries.length;
        runs.push({
          name,
          seconds,
          pulledBytes: after.pulledBytes - before.pulledBytes,
          pushedBytes: after.pushedBytes - before.pushedBytes,
          actionsCacheEntries: entries,
          outcome: result.outputs.skipped === 'true' ? 'skipped' : 'built',
        });
        return result;
      } finally {
        await daemon?.stop();
        rmSync(runnerTemp, { recursive: true, force: true });
      }
    };
    const cold = await run('cold build', '1'.repeat(40));
    const imageBytes = await imageSize(world, cold.outputs.digest ?? '');
    writeFileSync(join(workspace, 'app', 'app.txt'), 'version 2\n');
    await run('rebuild after a one-file change', '2'.repeat(40));
    await run('rebuild with no change (new commit)', '3'.repeat(40));
    const skip = await run('same commit again', '3'.repeat(40));
    if (skip.outputs.skipped !== 'true') throw new Error('the re-run of the same commit did not skip');
    return { imageBytes, runs };
  } finally {
    await world.stop();
    rmSync(workspace, { recursive: true, force: true });
  }
}

async function imageSize(world: World, digest: string): Promise<number> {
  const ecr = new ECRClient({ endpoint: world.emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } });
  try {
    const response = await ecr.send(new DescribeImagesCommand({ repositoryName: 'bench', imageIds: [{ imageDigest: digest }] }));
    return response.imageDetails?.[0]?.imageSizeInBytes ?? 0;
  } finally {
    ecr.destroy();
  }
}

/** What the docker path can use here: dockerd to start fresh daemons, and whether buildx is installed. */
export function dockerStatus(): { available: boolean; note: string } {
  const has = (command: string, args: string[]) => spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 }).status === 0;
  if (!has('dockerd', ['--version'])) return { available: false, note: 'not measured: dockerd is not installed (apt-get install -y docker.io)' };
  return has('docker', ['buildx', 'version'])
    ? { available: true, note: 'docker buildx: a registry cache of every stage in the cache repository' }
    : {
        available: true,
        note: "buildx is not installed (Debian does not package it): docker's classic builder, caching from the last image pulled whole from the cache repository",
      };
}
