// Rollout and rollback outcomes do not change when AWS throttles 30% of calls: the SDK's adaptive retries absorb it.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { describe as describeService, seedService, startWorld, type World } from '../helpers/world.ts';

let world: World;
beforeAll(async () => {
  // A lower time scale than the other tests: the SDK's backoff is real time, and at 100x an hour of
  // emulated time (how long ECS keeps stopped tasks to diagnose) would pass in 36 wall seconds.
  world = await startWorld({ timeScale: 20 });
});
afterAll(() => world.stop());

test('under 30% throttling: a healthy rollout succeeds, a crashing one is rolled back and diagnosed, a rollback lands', async () => {
  const healthy = await seedService(world, { service: 'steady', image: 'web:v1' });
  const crashy = await seedService(world, { service: 'shaky', image: 'web:v1' });
  await world.control('/_emulator/behaviours', { image: 'web:broken', kind: 'crash', exitCode: 1, logLines: ['Error: missing DATABASE_URL'] });
  for (const service of ['ecs', 'logs']) await world.control('/_emulator/faults', { service, error: 'ThrottlingException', rate: 0.3, seed: 7 });

  const [good, bad] = await Promise.all([
    // The SDK's adaptive mode slows its own sending rate after throttles in real time, which the
    // time scale multiplies: a generous emulated timeout keeps that from reading as a timeout.
    world.run('rollout-with-circuit-breaker', { inputs: { cluster: healthy.cluster, service: 'steady', image: 'web:v2', timeout: '3h' }, timeoutMs: 150_000 }),
    world.run('rollout-with-circuit-breaker', {
      inputs: { cluster: crashy.cluster, service: 'shaky', image: 'web:broken', timeout: '3h' },
      timeoutMs: 150_000,
    }),
  ]);
  const back = await world.run('rollback-to-revision', {
    inputs: { cluster: healthy.cluster, service: 'steady', to: 'previous', timeout: '3h' },
    timeoutMs: 150_000,
  });
  const throttled = (await world.calls()).filter((call) => call.error === 'ThrottlingException').length;
  await world.control('/_emulator/faults', undefined, 'DELETE');

  expect(throttled).toBeGreaterThan(10);
  expect(good.exitCode).toBe(0);
  expect(good.outputs.status).toBe('successful');
  expect(bad.exitCode).toBe(1);
  expect(bad.outputs.status).toBe('rolled-back');
  expect(bad.outputs['failure-reason']).toBe('crash-on-start');
  expect(bad.stdout).toContain('Error: missing DATABASE_URL');
  expect(bad.outputs['rolled-back-to']).toBe(crashy.taskDefinitionArn);
  expect(back.exitCode).toBe(0);
  // from: the healthy rollout had landed; to: the revision before it.
  expect(back.outputs).toMatchObject({ from: good.outputs['task-definition-arn'], to: healthy.taskDefinitionArn, status: 'successful' });
  expect((await describeService(world, healthy.cluster, 'steady'))?.taskDefinition).toBe(healthy.taskDefinitionArn);
}, 300_000);
