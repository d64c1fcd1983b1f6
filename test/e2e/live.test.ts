// scripts/live.ts (npm run live) against the emulator, run as a maintainer runs it: a child process
// given only an endpoint and the options, with no AWS keys and nothing of a workflow run in its env.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { CRASH_COMMAND, DEFAULT_NEXT_IMAGE } from '../../scripts/live.ts';
import { node24, root } from '../helpers/run-bundle.ts';
import { SECURITY_GROUP, SUBNETS, sharedListener, startWorld, taggedResources, type World } from '../helpers/world.ts';

let world: World;
let listenerArn: string;

beforeAll(async () => {
  world = await startWorld();
  ({ listenerArn } = await sharedListener(world, 'live', { https: true }));
  // On AWS the crashing command exits 1 in the image's shell; the emulator runs no containers and is told so.
  await world.control('/_emulator/behaviours', {
    image: DEFAULT_NEXT_IMAGE,
    command: CRASH_COMMAND,
    kind: 'crash',
    exitCode: 1,
    logLines: ['live check: crashing on purpose'],
  });
});
afterAll(() => world.stop());

async function live(runId: string, extra: string[] = []): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const args = [
    ...['--endpoint', world.emulator.endpoint, '--listener-arn', listenerArn, '--subnets', SUBNETS.join(','), '--security-groups', SECURITY_GROUP],
    ...['--execution-role-arn', 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole', '--run-id', runId, ...extra],
  ];
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ECS_DEPLOY_ACTIONS_TIME_SCALE: String(world.timeScale) };
  const child = spawn(node24, [join(root, 'scripts/live.ts'), ...args], { env, cwd: root });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exitCode = await new Promise<number>((done) => child.on('close', (code) => done(code ?? -1)));
  return { exitCode, stdout, stderr };
}

/** The result column of the final table, per step. */
function results(stdout: string): Record<string, string> {
  const rows = stdout.split('\n').filter((line) => /^\| \d+\. /.test(line));
  return Object.fromEntries(rows.map((row) => row.split('|').map((cell) => cell.trim())).map((cells) => [cells[1] ?? '', cells[4] ?? '']));
}

test('the story through the bundles: every step as expected, the crashing release rolled back by the circuit breaker, nothing of the environment left', async () => {
  const run = await live('jest');
  expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: '' });
  expect(results(run.stdout)).toEqual({
    '1. provision the environment': 'succeeds',
    '2. roll out a new image': 'succeeds',
    '3. roll out a release that crashes': 'fails, rolled back',
    '4. roll back to the previous revision': 'succeeds',
    '5. put it to sleep': 'succeeds',
    '6. wake it': 'succeeds',
    '7. tear it down': 'succeeds',
    '8. cleanup: tear down again': 'deleted 0',
    '9. nothing of live-jest left': '0 resources',
  });
  // The crash was the circuit breaker's doing, as the step reported it.
  expect(run.stdout).toContain('live check: crashing on purpose');
  expect(run.stdout).toMatch(/Deployment of .* was rolled back/);
  expect(await taggedResources(world, 'live-jest')).toEqual([]);
  // Each action ran against the endpoint, under its documented policy.
  const calls = await world.calls();
  expect(new Set(calls.map((call) => call.action).filter(Boolean))).toEqual(
    new Set(['provision-platform', 'rollout-with-circuit-breaker', 'rollback-to-revision', 'scale-schedule', 'teardown-env']),
  );
  expect(calls.filter((call) => call.error?.includes('AccessDenied'))).toEqual([]);
}, 300_000);

test('a step that goes wrong stops the story; the cleanup still runs, and what it cannot delete is listed and fails the run', async () => {
  // This release does not crash, so step 3 is unexpected; its log group cannot be deleted.
  await world.control('/_emulator/faults', { service: 'logs', operation: 'DeleteLogGroup', error: 'InternalFailure', rate: 1 });
  try {
    const run = await live('jest-wrong', ['--next-image', 'public.ecr.aws/nginx/nginx:mainline-alpine']);
    expect(run.exitCode).toBe(1);
    const table = results(run.stdout);
    expect(table['3. roll out a release that crashes']).toMatch(/^UNEXPECTED: exit 0, status "successful"/);
    expect(['4. roll back to the previous revision', '7. tear it down'].map((step) => table[step])).toEqual(['skipped', 'skipped']);
    expect(table['9. nothing of live-jest-wrong left']).toBe('UNEXPECTED: 1 left');
    expect(run.stdout).toContain('- log group /ecs/live-check/live-jest-wrong');
    expect(await taggedResources(world, 'live-jest-wrong')).toEqual(['/ecs/live-check/live-jest-wrong']);
  } finally {
    await world.control('/_emulator/faults', undefined, 'DELETE');
  }
}, 300_000);
