// scale-schedule, run as a runner runs it, against the emulator: environments tagged as
// provision-platform tags them, some with Application Auto Scaling targets.
import { TagResourceCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { fargatePrices } from '../../src/pricing.ts';
import { type EnvironmentSeed, seedEnvironments, settled, snapshot } from '../helpers/environments.ts';
import { startWorld, type World } from '../helpers/world.ts';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(() => world.stop());

const mutatingSince = async (from: number) => (await world.calls()).slice(from).filter((call) => call.mutating);
const callCount = async () => (await world.calls()).length;

describe('25 environments, 7 of them with auto scaling', () => {
  const cluster = 'previews';
  const seeds: EnvironmentSeed[] = Array.from({ length: 25 }, (_, index) => {
    const n = index + 1;
    // Every fourth one autoscales, within limits that differ per environment.
    return n % 4 === 1
      ? { environment: `pr-${n}`, desiredCount: 2, limits: { min: 1 + (n % 3), max: 6 } }
      : { environment: `pr-${n}`, desiredCount: 1 + (n % 3) };
  });
  const names = seeds.map((seed) => seed.environment);
  let before: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    await seedEnvironments(world, cluster, seeds);
    // Somebody else's service, named like ours, that must never be scaled.
    await seedEnvironments(world, cluster, [{ environment: 'pr-26', desiredCount: 1, tags: null }]);
    before = await snapshot(world, cluster, [...names, 'pr-26']);
  }, 60_000);

  test('sleep records every count and limit in tags, then scales to 0; DescribeServices goes 10 at a time', async () => {
    expect(Object.values(before).filter((service) => service.min !== undefined)).toHaveLength(7);
    const from = await callCount();
    const run = await world.run('scale-schedule', { inputs: { mode: 'sleep', cluster, environments: 'pr-*' } });
    const calls = (await world.calls()).slice(from);
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({ changed: '25', skipped: '0', failed: '0' });

    const prices = fargatePrices('us-east-1');
    const perTaskDay = (0.25 * (prices?.onDemand.vcpuHour ?? 0) + 0.5 * (prices?.onDemand.gbHour ?? 0)) * 24;
    const tasks = names.reduce((total, name) => total + (before[name]?.desired ?? 0), 0);
    expect(Number(run.outputs['estimated-daily-saving'])).toBeCloseTo(tasks * perTaskDay, 2);
    expect(run.summary).toContain('| pr-1 | pr-1 | 2 → 0 | 2/6 → 0/0 | asleep |');
    expect(run.stdout).toContain('7 of 25 services have an Application Auto Scaling target');

    const after = await snapshot(world, cluster, [...names, 'pr-26']);
    for (const name of names) {
      const was = before[name];
      expect([name, after[name]?.desired, after[name]?.min, after[name]?.max]).toEqual([
        name,
        0,
        was?.min === undefined ? undefined : 0,
        was?.min === undefined ? undefined : 0,
      ]);
      expect(after[name]?.tags['ecs-deploy-actions:asleep-desired-count']).toBe(String(was?.desired));
      expect(after[name]?.tags['ecs-deploy-actions:asleep-min-capacity']).toBe(was?.min === undefined ? undefined : String(was.min));
      expect(after[name]?.tags['ecs-deploy-actions:asleep-max-capacity']).toBe(was?.max === undefined ? undefined : String(was.max));
    }
    expect(after['pr-26']).toEqual(before['pr-26']);

    const described = calls.filter((call) => call.operation === 'DescribeServices');
    expect(described).toHaveLength(3);
    expect(described.map((call) => (call.parameters.services as string[]).length).sort()).toEqual([10, 10, 6]);
    // Tags first, then counts, for every service: a run killed in between can be re-run safely.
    for (const name of names) {
      const tagAt = calls.findIndex((call) => call.operation === 'TagResource' && String(call.parameters.resourceArn).endsWith(`/${name}`));
      const updateAt = calls.findIndex((call) => call.operation === 'UpdateService' && call.parameters.service === name);
      expect(tagAt).toBeGreaterThanOrEqual(0);
      expect(updateAt).toBeGreaterThan(tagAt);
    }
  });

  test('asleep, autoscaled services stay at 0 however long the night', async () => {
    await world.control('/_emulator/clock', { advanceSeconds: 8 * 3600 });
    await settled(world, cluster, names);
    const night = await snapshot(world, cluster, names);
    expect(Object.values(night).map((service) => [service.desired, service.running])).toEqual(names.map(() => [0, 0]));
  });

  test('sleeping again changes nothing', async () => {
    const from = await callCount();
    const run = await world.run('scale-schedule', { inputs: { mode: 'sleep', cluster, environments: 'pr-*' } });
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({ changed: '0', skipped: '25', failed: '0', 'estimated-daily-saving': '0.00' });
    expect(run.summary).toContain('already asleep');
    expect(await mutatingSince(from)).toEqual([]);
  });

  test('wake restores exactly what was recorded, waits for steady state, and removes the tags', async () => {
    const run = await world.run('scale-schedule', { inputs: { mode: 'wake', cluster, environments: 'pr-*' } });
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({ changed: '25', skipped: '0', failed: '0' });
    expect(run.stdout).toContain('Waiting for 25 services to reach steady state');
    expect(run.summary).toContain('| pr-1 | pr-1 | 0 → 2 | 0/0 → 2/6 | awake, steady |');
    const after = await snapshot(world, cluster, [...names, 'pr-26']);
    // Every count, limit and tag as before the night, and every task running again.
    expect(after).toEqual(before);
  });

  test('waking an awake environment changes nothing', async () => {
    const from = await callCount();
    const run = await world.run('scale-schedule', { inputs: { mode: 'wake', cluster, environments: 'pr-*' } });
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({ changed: '0', skipped: '25', failed: '0' });
    expect(await mutatingSince(from)).toEqual([]);
  });
});

describe('selection, dry run and failures', () => {
  const cluster = 'mixed';
  beforeAll(async () => {
    await seedEnvironments(world, cluster, [
      { environment: 'pr-1', desiredCount: 1 },
      { environment: 'pr-2', desiredCount: 2, limits: { min: 1, max: 3 } },
      { environment: 'pr-3', desiredCount: 1, capacityProviders: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }] },
      { environment: 'staging', desiredCount: 1 },
    ]);
  }, 60_000);

  test('dry run shows the plan and the saving, and makes no change', async () => {
    const from = await callCount();
    const run = await world.run('scale-schedule', { inputs: { mode: 'sleep', cluster, environments: '*', 'dry-run': 'true' } });
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({ changed: '0', skipped: '1', failed: '0' });
    expect(run.stdout).toContain('pr-2: sleep 2 (min 1, max 3) → 0 (min 0, max 0)');
    expect(run.stdout).toContain('Dry run: nothing changed.');
    expect(run.summary).toContain('| pr-3 | pr-3 | 1 → 0 | — | would sleep |');
    expect(run.summary).toContain('Spot prices move');
    expect(run.summary).toContain('staging (protected: name it exactly in environments to include it)');
    expect(await mutatingSince(from)).toEqual([]);
  });

  test('a protected environment is taken only when named exactly; exclude leaves environments alone', async () => {
    const run = await world.run('scale-schedule', {
      inputs: { mode: 'sleep', cluster, environments: 'staging,pr-*', exclude: 'pr-1,pr-3', 'dry-run': 'true' },
    });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('excluded: pr-1, pr-3');
    expect(run.stdout).toContain('staging: sleep 1 → 0');
    expect(run.stdout).toContain('pr-2: sleep');
    expect(run.outputs.skipped).toBe('2');
  });

  test('a service that fails is listed at the end and does not stop the others', async () => {
    // pr-1 carries a recorded count nobody can read; pr-2's auto scaling keeps failing.
    const arn = `arn:aws:ecs:us-east-1:123456789012:service/${cluster}/pr-1`;
    await world.ecs.send(new TagResourceCommand({ resourceArn: arn, tags: [{ key: 'ecs-deploy-actions:asleep-desired-count', value: 'two' }] }));
    await world.control('/_emulator/faults', { service: 'application-autoscaling', operation: 'RegisterScalableTarget', error: 'InternalFailure', rate: 1 });
    const run = await world.run('scale-schedule', { inputs: { mode: 'sleep', cluster, environments: 'pr-*' }, timeoutMs: 90_000 });
    await world.control('/_emulator/faults', undefined, 'DELETE');
    expect(run.exitCode).toBe(1);
    expect(run.outputs).toMatchObject({ changed: '1', skipped: '0', failed: '2' });
    expect(run.stdout).toContain('2 environment(s) could not be put to sleep');
    expect(run.stdout).toMatch(/pr-1: Service pr-1 has tag ecs-deploy-actions:asleep-desired-count="two"/);
    expect(run.stdout).toMatch(/pr-2: RegisterScalableTarget for the scalable target of service pr-2 failed: InternalFailure/);
    const after = await snapshot(world, cluster, ['pr-1', 'pr-2', 'pr-3', 'staging']);
    expect(after['pr-3']?.desired).toBe(0);
    expect(after['pr-1']?.desired).toBe(1);
    expect(after.staging?.desired).toBe(1);
    // pr-2 has its counts recorded, so the re-run (once AWS recovers) finishes it from the truth.
    expect(after['pr-2']?.tags['ecs-deploy-actions:asleep-desired-count']).toBe('2');
    const again = await world.run('scale-schedule', { inputs: { mode: 'sleep', cluster, environments: 'pr-2' } });
    expect(again.exitCode).toBe(0);
    const woken = await world.run('scale-schedule', { inputs: { mode: 'wake', cluster, environments: 'pr-2,pr-3' } });
    expect(woken.exitCode).toBe(0);
    const restored = await snapshot(world, cluster, ['pr-2', 'pr-3']);
    expect([restored['pr-2']?.desired, restored['pr-2']?.min, restored['pr-2']?.max, restored['pr-3']?.desired]).toEqual([2, 1, 3, 1]);
  }, 120_000);
});

describe('a sleep interrupted halfway', () => {
  const cluster = 'half';
  const recorded = [
    { key: 'ecs-deploy-actions:asleep-desired-count', value: '3' },
    { key: 'ecs-deploy-actions:asleep-min-capacity', value: '2' },
    { key: 'ecs-deploy-actions:asleep-max-capacity', value: '5' },
  ];
  beforeAll(async () => {
    await seedEnvironments(world, cluster, [{ environment: 'pr-1', desiredCount: 3, limits: { min: 2, max: 5 } }]);
  }, 60_000);

  test('a re-run finishes it without recording zeros over the counts, and wake restores them', async () => {
    // As a run killed right after writing the tags leaves it: counts recorded, nothing scaled yet.
    const arn = `arn:aws:ecs:us-east-1:123456789012:service/${cluster}/pr-1`;
    await world.ecs.send(new TagResourceCommand({ resourceArn: arn, tags: recorded }));
    const first = await world.run('scale-schedule', { inputs: { mode: 'sleep', cluster, environments: 'pr-1' } });
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain('finishing an interrupted sleep');
    const asleep = (await snapshot(world, cluster, ['pr-1']))['pr-1'];
    expect([asleep?.desired, asleep?.min, asleep?.max]).toEqual([0, 0, 0]);
    expect(asleep?.tags).toMatchObject(Object.fromEntries(recorded.map((tag) => [tag.key, tag.value])));

    const again = await world.run('scale-schedule', { inputs: { mode: 'sleep', cluster, environments: 'pr-1' } });
    expect(again.outputs.changed).toBe('0');
    const woken = await world.run('scale-schedule', { inputs: { mode: 'wake', cluster, environments: 'pr-1' } });
    expect(woken.exitCode).toBe(0);
    const awake = (await snapshot(world, cluster, ['pr-1']))['pr-1'];
    expect([awake?.desired, awake?.running, awake?.min, awake?.max]).toEqual([3, 3, 2, 5]);
    expect(Object.keys(awake?.tags ?? {}).filter((key) => key.includes('asleep'))).toEqual([]);
  });
});

test('a wake whose image is gone: counts restored, the failure explained, the step failed', async () => {
  const cluster = 'crashing';
  await seedEnvironments(world, cluster, [
    { environment: 'pr-1', desiredCount: 2, image: 'web:pr-1' },
    { environment: 'pr-2', desiredCount: 1 },
  ]);
  const slept = await world.run('scale-schedule', { inputs: { mode: 'sleep', cluster, environments: 'pr-*' } });
  expect(slept.exitCode).toBe(0);
  // While it slept, a registry lifecycle rule expired its image.
  await world.control('/_emulator/behaviours', { image: 'web:pr-1', kind: 'pull-error' });
  const run = await world.run('scale-schedule', { inputs: { mode: 'wake', cluster, environments: 'pr-*' } });
  expect(run.exitCode).toBe(1);
  expect(run.outputs).toMatchObject({ changed: '1', failed: '1' });
  expect(run.stdout).toContain('1 environment(s) could not be woken');
  expect(run.stdout).toMatch(/pr-1: counts restored, but it did not reach steady state: .*image/i);
  expect(run.stdout).toContain('CannotPullContainerError');
  const after = await snapshot(world, cluster, ['pr-1', 'pr-2']);
  expect([after['pr-1']?.desired, after['pr-2']?.desired, after['pr-2']?.running]).toEqual([2, 1, 1]);
  expect(Object.keys(after['pr-1']?.tags ?? {}).filter((key) => key.includes('asleep'))).toEqual([]);
});

test('a wake re-run after a wake that stopped waiting: it waits for the tasks that wake started, and fails if they cannot start', async () => {
  const cluster = 'interrupted';
  await seedEnvironments(world, cluster, [
    { environment: 'pr-1', desiredCount: 2, image: 'web:slow-1' },
    { environment: 'pr-2', desiredCount: 1, image: 'web:gone-2' },
  ]);
  expect((await world.run('scale-schedule', { inputs: { mode: 'sleep', cluster, environments: 'pr-*' } })).exitCode).toBe(0);
  await world.control('/_emulator/behaviours', { image: 'web:slow-1', kind: 'slow-start', startSeconds: 600 });
  await world.control('/_emulator/behaviours', { image: 'web:gone-2', kind: 'pull-error' });
  const wake = { mode: 'wake', cluster, environments: 'pr-*' };
  // Stopped waiting: as a run killed at that point, its counts are restored and its tags removed.
  const first = await world.run('scale-schedule', { inputs: { ...wake, timeout: '30s' } });
  expect(first.exitCode).toBe(1);
  const again = await world.run('scale-schedule', { inputs: wake });
  expect(again.exitCode).toBe(1);
  expect(again.outputs).toMatchObject({ changed: '0', failed: '1' });
  expect(again.stdout).toContain('CannotPullContainerError');
  const after = await snapshot(world, cluster, ['pr-1', 'pr-2']);
  expect([after['pr-1']?.desired, after['pr-1']?.running]).toEqual([2, 2]);
});
