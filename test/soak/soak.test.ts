// The seeded soak, short: 20 runs over 9 environments under throttling, 5xx, dropped connections and
// kills (see soak.ts). The seed is one whose plan holds every kind of step, a rollout to a sleeping
// environment, a sleep woken and three kills; kills come within 5 s, so the test stays near a minute.
import { expect, test } from '@jest/globals';
import { makePlan, planCounts } from './plan.ts';
import { formatReport, runSoak } from './soak.ts';

const options = { runs: 20, seed: 128, environments: 9, killDelayMs: [200, 5000] as [number, number] };

test('the plan is the seed’s: the same steps every time, covering every kind of step', () => {
  const plan = makePlan(options);
  expect(makePlan(options)).toEqual(plan);
  expect(makePlan({ ...options, seed: 129 })).not.toEqual(plan);
  const { kinds, kills } = planCounts(plan);
  for (const kind of ['provision', 'provision-crash', 'rollout', 'rollout-crash', 'sleep', 'wake', 'teardown']) expect(kinds[kind]).toBeGreaterThan(0);
  expect(kills).toBeGreaterThanOrEqual(3);
});

test('20 runs under faults and kills: no orphans, nothing foreign touched, every environment as its last successful run left it', async () => {
  const report = await runSoak(options);
  console.log(formatReport(report));
  expect(report.violations).toEqual([]);
  expect(report.runs).toBe(20);
  expect(report.kills).toBeGreaterThan(0);
  expect(report.faults.throttling).toBeGreaterThan(10);
  expect(report.failures['rolled back (crashing image, expected)']).toBeGreaterThan(0);
  expect(report.orphans).toEqual([]);
  expect(report.foreignDeleted).toEqual([]);
  expect(report.foreignChanged).toEqual([]);
  expect(report.matching).toBe(report.present);
}, 240_000);
