// scale-schedule under 30% throttling of ECS and Application Auto Scaling: the SDK's adaptive retries
// absorb it, and every environment ends exactly as it should, asleep and then awake.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type EnvironmentSeed, seedEnvironments, snapshot } from '../helpers/environments.ts';
import { startWorld, type World } from '../helpers/world.ts';

let world: World;
beforeAll(async () => {
  // As in rollout-faults: the SDK's backoff is real time, so a lower time scale keeps it from
  // reading as minutes of emulated time.
  world = await startWorld({ timeScale: 20 });
});
afterAll(() => world.stop());

test('under 30% throttling, 12 environments sleep and wake back exactly as they were', async () => {
  const cluster = 'previews';
  const seeds: EnvironmentSeed[] = Array.from({ length: 12 }, (_, index) =>
    index % 3 === 0
      ? { environment: `pr-${index + 1}`, desiredCount: 2, limits: { min: 1, max: 3 } }
      : { environment: `pr-${index + 1}`, desiredCount: 1 + (index % 2) },
  );
  const names = seeds.map((seed) => seed.environment);
  await seedEnvironments(world, cluster, seeds);
  const before = await snapshot(world, cluster, names);

  for (const service of ['ecs', 'application-autoscaling']) {
    await world.control('/_emulator/faults', { service, error: 'ThrottlingException', rate: 0.3, seed: 11 });
  }
  const sleep = await world.run('scale-schedule', { inputs: { mode: 'sleep', cluster, environments: 'pr-*', concurrency: '6' }, timeoutMs: 150_000 });
  const wake = await world.run('scale-schedule', {
    inputs: { mode: 'wake', cluster, environments: 'pr-*', concurrency: '6', timeout: '3h' },
    timeoutMs: 150_000,
  });
  const throttled = (await world.calls()).filter((call) => call.error === 'ThrottlingException');
  await world.control('/_emulator/faults', undefined, 'DELETE');

  expect(throttled.length).toBeGreaterThan(10);
  // Throttled writes too, not only reads: the updates are retried, not lost.
  expect(throttled.some((call) => call.mutating)).toBe(true);
  expect(sleep.exitCode).toBe(0);
  expect(sleep.outputs).toMatchObject({ changed: '12', failed: '0' });
  expect(wake.exitCode).toBe(0);
  expect(wake.outputs).toMatchObject({ changed: '12', failed: '0' });
  expect(await snapshot(world, cluster, names)).toEqual(before);
}, 300_000);
