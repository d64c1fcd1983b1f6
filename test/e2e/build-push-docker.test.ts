// build-push-ecr with a Docker daemon and no buildx (Debian's docker.io): the classic builder, its cache in
// <repository>-cache. Runs where dockerd is installed; each build on a fresh daemon, as on a fresh runner.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { canStartDockerDaemon, startDockerDaemon } from '../helpers/docker.ts';
import { startWorld, type World } from '../helpers/world.ts';

const canBuild = canStartDockerDaemon() && spawnSync('docker-registry', ['--version'], { stdio: 'ignore' }).status === 0;
if (!canBuild) console.warn('build-push-docker.test: skipped: needs root, dockerd and docker-registry (apt-get install -y docker.io docker-registry)');
const suite = canBuild ? describe : describe.skip;

let world: World;
let workspace: string;

beforeAll(async () => {
  world = await startWorld({ registry: canBuild });
  workspace = mkdtempSync(join(tmpdir(), 'build-push-docker-'));
  mkdirSync(join(workspace, 'app'));
  writeFileSync(join(workspace, 'app', 'big.bin'), randomBytes(1024 * 1024));
  writeFileSync(join(workspace, 'app', 'app.txt'), 'v1');
  writeFileSync(join(workspace, 'app', 'Dockerfile'), 'FROM scratch\nCOPY big.bin /big.bin\nCOPY app.txt /app.txt\n');
});

afterAll(async () => {
  await world.stop();
  rmSync(workspace, { recursive: true, force: true });
});

async function buildOnFreshRunner(sha: string) {
  const runnerTemp = mkdtempSync(join(tmpdir(), 'build-push-docker-runner-'));
  const daemon = await startDockerDaemon(join(runnerTemp, 'docker'));
  try {
    const before = world.emulator.registry?.traffic() ?? { pulledBytes: 0, pushedBytes: 0 };
    const run = await world.run('build-push-ecr', {
      inputs: { repository: 'web', context: 'app', builder: 'docker' },
      env: { GITHUB_WORKSPACE: workspace, RUNNER_TEMP: runnerTemp, GITHUB_SHA: sha, DOCKER_HOST: daemon.host },
    });
    const after = world.emulator.registry?.traffic() ?? before;
    return { run, pushedBytes: after.pushedBytes - before.pushedBytes };
  } finally {
    await daemon.stop();
    rmSync(runnerTemp, { recursive: true, force: true });
  }
}

suite('build-push-ecr with docker and no buildx', () => {
  test('a new daemon reuses the unchanged layer from web-cache and pushes only the changed one', async () => {
    const first = await buildOnFreshRunner('1'.repeat(40));
    expect(first.run.exitCode).toBe(0);
    expect(first.run.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    writeFileSync(join(workspace, 'app', 'app.txt'), 'v2');
    const second = await buildOnFreshRunner('2'.repeat(40));
    expect(second.run.exitCode).toBe(0);
    expect(second.run.stdout).toMatch(/Step 2\/\d+ : COPY big\.bin \/big\.bin\s+---> Using cache/);
    expect(second.run.stdout).not.toMatch(/Step 3\/\d+ : COPY app\.txt \/app\.txt\s+---> Using cache/);
    // The 1 MiB layer is in both repositories already: only the small layer, configs and manifests go up.
    expect(second.pushedBytes).toBeLessThan(100 * 1024);
    expect(second.run.outputs.digest).not.toBe(first.run.outputs.digest);

    // A new commit with the same inputs: the last build's layers with this commit's labels, no daemon work.
    const third = await buildOnFreshRunner('4'.repeat(40));
    expect(third.run.exitCode).toBe(0);
    expect(third.run.stdout).toContain('Reusing the layers of web-cache:context-');
    expect(third.run.stdout).not.toContain('Step 1/');
    expect(third.pushedBytes).toBeLessThan(10 * 1024);
  }, 240_000);

  test('two platforms are refused naming the input before anything changes: the classic builder builds one', async () => {
    const runnerTemp = mkdtempSync(join(tmpdir(), 'build-push-docker-runner-'));
    const daemon = await startDockerDaemon(join(runnerTemp, 'docker'));
    try {
      const before = (await world.calls()).length;
      const run = await world.run('build-push-ecr', {
        inputs: { repository: 'web', context: 'app', builder: 'docker', platforms: 'linux/amd64,linux/arm64', tags: 'multi' },
        env: { GITHUB_WORKSPACE: workspace, RUNNER_TEMP: runnerTemp, GITHUB_SHA: '3'.repeat(40), DOCKER_HOST: daemon.host },
      });
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toContain('Input "platforms": lists 2 platforms, but docker without buildx builds one.');
      expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
    } finally {
      await daemon.stop();
      rmSync(runnerTemp, { recursive: true, force: true });
    }
  }, 120_000);
});
