// build-push-ecr wall times, each run on a fresh "runner" (its own RUNNER_TEMP), as CI runs it:
// a cold build (empty Actions cache), a rebuild after a one-line change (layers from the cache), and a
// re-run of the same commit (skipped). The image has two large layers that stay the same and a small one that changes.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld } from '../test/helpers/world.ts';

export interface BuildFigures {
  coldSeconds: number;
  cachedSeconds: number;
  skipSeconds: number;
  cacheOutcome: string;
  imageBytes: string;
}

export function canBuildImages(): boolean {
  return ['buildah', 'docker-registry'].every((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);
}

export async function measureBuildPush(): Promise<BuildFigures> {
  const world = await startWorld({ registry: true });
  const workspace = mkdtempSync(join(tmpdir(), 'bench-build-'));
  try {
    mkdirSync(join(workspace, 'app'));
    writeFileSync(join(workspace, 'app', 'runtime.bin'), randomBytes(24 * 1024 * 1024));
    writeFileSync(join(workspace, 'app', 'dependencies.bin'), randomBytes(8 * 1024 * 1024));
    writeFileSync(join(workspace, 'app', 'app.txt'), 'version 1\n');
    writeFileSync(
      join(workspace, 'app', 'Dockerfile'),
      'FROM scratch\nCOPY runtime.bin /runtime.bin\nCOPY dependencies.bin /deps.bin\nCOPY app.txt /app.txt\n',
    );

    // Hosted runners give every job RUNNER_TEMP at the same path, empty: the cache version includes the path.
    const runnerTemp = `${workspace}-runner`;
    const run = async (sha: string) => {
      rmSync(runnerTemp, { recursive: true, force: true });
      mkdirSync(runnerTemp);
      try {
        const started = performance.now();
        const result = await world.run('build-push-ecr', {
          inputs: { repository: 'bench', context: 'app' },
          env: {
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
        return { seconds, result };
      } finally {
        rmSync(runnerTemp, { recursive: true, force: true });
      }
    };
    const cold = await run('1'.repeat(40));
    writeFileSync(join(workspace, 'app', 'app.txt'), 'version 2\n');
    const cached = await run('2'.repeat(40));
    const skip = await run('2'.repeat(40));
    if (skip.result.outputs.skipped !== 'true') throw new Error('the re-run of the same commit did not skip');
    return {
      coldSeconds: cold.seconds,
      cachedSeconds: cached.seconds,
      skipSeconds: skip.seconds,
      cacheOutcome: /Layer cache \| ([^|\n]+)/.exec(cached.result.summary)?.[1]?.trim() ?? 'unknown',
      imageBytes: /Size \| ([^|\n]+)/.exec(cached.result.summary)?.[1]?.trim() ?? 'unknown',
    };
  } finally {
    await world.stop();
    rmSync(workspace, { recursive: true, force: true });
  }
}
