// rollback-to-revision, run as a runner runs it, against the emulator.

import { RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { describe as describeService, type SeededService, seedService, startWorld, type World } from '../helpers/world.ts';

let world: World;
let seeded: SeededService;
const revision = (n: number) => `${seeded.taskDefinitionArn.slice(0, seeded.taskDefinitionArn.lastIndexOf(':'))}:${n}`;

beforeAll(async () => {
  world = await startWorld();
  // History: v1 (rev 1) → v2 (rev 2) → v3 (rev 3) → v4 crashes (rev 4, rolled back to rev 3).
  seeded = await seedService(world, { service: 'web', image: 'web:v1' });
  for (const tag of ['v2', 'v3']) {
    expect((await world.run('rollout-with-circuit-breaker', { inputs: { cluster: 'previews', service: 'web', image: `web:${tag}` } })).exitCode).toBe(0);
  }
  await world.control('/_emulator/behaviours', { image: 'web:v4', kind: 'crash', exitCode: 1 });
  expect((await world.run('rollout-with-circuit-breaker', { inputs: { cluster: 'previews', service: 'web', image: 'web:v4' } })).outputs.status).toBe(
    'rolled-back',
  );
});
afterAll(() => world.stop());

async function rollback(to: string) {
  const run = await world.run('rollback-to-revision', { inputs: { cluster: 'previews', service: 'web', to } });
  return { run, current: (await describeService(world, 'previews', 'web'))?.taskDefinition };
}

test('previous: the revision the service ran before the current one, skipping the failed one', async () => {
  const { run, current } = await rollback('previous');
  expect(run.exitCode).toBe(0);
  expect(run.outputs).toMatchObject({ from: revision(3), to: revision(2), status: 'successful' });
  expect(current).toBe(revision(2));
  // Where each service came from and went to, with the image it runs there.
  expect(run.summary).toContain('| service | from | to | image there |\n| --- | --- | --- | --- |\n| web | previews-web:3 | previews-web:2 | web:v2 |');
  expect(run.summary).toContain('| web | successful | previews-web:2 | — | previews-web:2: 2 (desired 2) |');
});

test('last-successful: the newest revision whose deployment completed', async () => {
  const { run, current } = await rollback('last-successful');
  expect(run.exitCode).toBe(0);
  expect(run.outputs).toMatchObject({ from: revision(2), to: revision(2) });
  expect(current).toBe(revision(2));
});

test('a revision number, then an ARN', async () => {
  const byNumber = await rollback('1');
  expect(byNumber.run.outputs).toMatchObject({ to: revision(1), status: 'successful' });
  expect(byNumber.current).toBe(revision(1));
  const byArn = await rollback(revision(3));
  expect(byArn.run.outputs).toMatchObject({ from: revision(1), to: revision(3), status: 'successful' });
  expect(byArn.current).toBe(revision(3));
});

test('dry run names the target and changes nothing', async () => {
  const before = (await world.calls()).length;
  const run = await world.run('rollback-to-revision', { inputs: { cluster: 'previews', service: 'web', to: '1', 'dry-run': 'true' } });
  expect(run.exitCode).toBe(0);
  expect(run.outputs).toMatchObject({ from: revision(3), to: revision(1), status: 'skipped' });
  expect(run.summary).toMatch(/\| web \| previews-web:3 \| previews-web:1 \|/);
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
});

test('a revision of another family is refused before any change', async () => {
  const other = await world.ecs.send(
    new RegisterTaskDefinitionCommand({ family: 'other-app', containerDefinitions: [{ name: 'app', image: 'other:v1', memory: 128 }] }),
  );
  const before = (await world.calls()).length;
  const { run, current } = await rollback(other.taskDefinition?.taskDefinitionArn ?? '');
  expect(run.exitCode).toBe(1);
  expect(run.stdout).toContain('Input "to": other-app:1 is in family other-app, but service web runs family previews-web.');
  expect(run.stdout).toContain('allow-family-change');
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
  expect(current).toBe(revision(3));
});

test('back to a revision that crashes: ECS rolls back again, and the step shows why with the task log', async () => {
  await world.control('/_emulator/behaviours', { image: 'web:v4', kind: 'crash', exitCode: 3, logLines: ['fatal: config v4 is gone'] });
  const { run, current } = await rollback('4');
  expect(run.exitCode).toBe(1);
  expect(run.outputs.status).toBe('rolled-back');
  expect(run.stdout).toContain('exit code 3');
  expect(run.stdout).toContain('fatal: config v4 is gone');
  expect(run.stdout).toContain('Classification: crash on start');
  expect(current).toBe(revision(3));
  expect(run.summary).toContain('| web | previews-web:3 | previews-web:4 | web:v4 |');
  expect(run.summary).toContain('| web | rolled-back | previews-web:4 | previews-web:3 | previews-web:3: 2 (desired 2) |');
  expect(run.summary).toContain('#### Why the rollback failed');
  expect(run.summary).toContain(
    '**How to fix:** the revision you went back to does not start either: its stopped tasks and their last log lines are under “Why the rollback failed”',
  );
  expect(run.stdout).toContain('::group::Why the rollback failed');
});
