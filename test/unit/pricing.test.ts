import { expect, test } from '@jest/globals';
import { estimateCost, fargatePrices, spotShare } from '../../src/pricing.ts';

const ON_DEMAND = [{ provider: 'FARGATE', weight: 1 }];
const ALL_SPOT = [{ provider: 'FARGATE_SPOT', weight: 1 }];
const SMALL = { region: 'us-east-1', cpu: 256, memory: 512 };

test('0.25 vCPU / 0.5 GB on-demand in us-east-1 for a month matches the table and a hand-worked figure', () => {
  const prices = fargatePrices('us-east-1');
  if (prices === undefined) throw new Error('us-east-1 missing from the table');
  const fromTable = (0.25 * prices.onDemand.vcpuHour + 0.5 * prices.onDemand.gbHour) * 730;

  const estimate = estimateCost({ ...SMALL, tasks: 1, strategy: ON_DEMAND });
  expect(estimate?.monthlyUsd).toBe(Math.round(fromTable * 100) / 100);

  // By hand from $0.04048/vCPU-h and $0.004445/GB-h: 0.01012 + 0.0022225 = 0.0123425 per hour;
  // x 730 = 9.010025 a month, x 24 = 0.29622 a day.
  expect(prices.onDemand).toEqual({ vcpuHour: 0.04048, gbHour: 0.004445 });
  expect(estimate?.perTaskHourUsd).toBeCloseTo(0.0123425, 12);
  expect(estimate?.monthlyUsd).toBe(9.01);
  expect(estimate?.dailyUsd).toBe(0.3);
  expect(estimate).toMatchObject({ region: 'us-east-1', asOf: prices.asOf, spotShare: 0, spotEstimated: false });
});

test('money is rounded only at the end, not per task', () => {
  // 7 tasks: 0.0123425 x 7 x 24 = 2.07354 -> 2.07 a day, where rounding one task's day first gives 0.30 x 7 = 2.10.
  // A month is 0.0123425 x 7 x 730 = 63.070175 -> 63.07.
  const estimate = estimateCost({ ...SMALL, tasks: 7, strategy: ON_DEMAND });
  expect(estimate?.monthlyUsd).toBe(63.07);
  expect(estimate?.dailyUsd).toBe(2.07);
});

test('spot share from capacity-provider strategies', () => {
  expect(spotShare(ALL_SPOT)).toBe(1);
  expect(
    spotShare([
      { provider: 'FARGATE_SPOT', weight: 3 },
      { provider: 'FARGATE', weight: 1 },
    ]),
  ).toBe(0.75);
  expect(spotShare([])).toBe(0);
  expect(spotShare(ON_DEMAND)).toBe(0);
  // A zero-weight provider takes no tasks.
  expect(
    spotShare([
      { provider: 'FARGATE_SPOT', weight: 0 },
      { provider: 'FARGATE', weight: 2 },
    ]),
  ).toBe(0);
  expect(
    spotShare([
      { provider: 'FARGATE_SPOT', weight: 5 },
      { provider: 'FARGATE', weight: 0 },
    ]),
  ).toBe(1);
  // All weights zero: no division by zero, treated as plain Fargate.
  expect(
    spotShare([
      { provider: 'FARGATE_SPOT', weight: 0 },
      { provider: 'FARGATE', weight: 0 },
    ]),
  ).toBe(0);
});

test('a mixed strategy costs between all-Spot and all-on-demand, at the weighted blend', () => {
  const prices = fargatePrices('eu-central-1');
  if (prices === undefined) throw new Error('eu-central-1 missing from the table');
  const base = { region: 'eu-central-1', cpu: 1024, memory: 2048, tasks: 4 };
  const spot = estimateCost({ ...base, strategy: ALL_SPOT });
  const onDemand = estimateCost({
    ...base,
    strategy: [
      { provider: 'FARGATE', weight: 1 },
      { provider: 'FARGATE_SPOT', weight: 0 },
    ],
  });
  const mixed = estimateCost({
    ...base,
    strategy: [
      { provider: 'FARGATE_SPOT', weight: 3 },
      { provider: 'FARGATE', weight: 1 },
    ],
  });
  if (spot === undefined || onDemand === undefined || mixed === undefined) throw new Error('no estimate');

  expect(spot.monthlyUsd).toBeLessThan(mixed.monthlyUsd);
  expect(mixed.monthlyUsd).toBeLessThan(onDemand.monthlyUsd);
  const spotHour = prices.spot.vcpuHour + 2 * prices.spot.gbHour;
  const onDemandHour = prices.onDemand.vcpuHour + 2 * prices.onDemand.gbHour;
  expect(mixed.perTaskHourUsd).toBeCloseTo(0.75 * spotHour + 0.25 * onDemandHour, 12);
  expect(mixed.spotShare).toBe(0.75);
  // Spot figures in the table are not confirmed current, and the estimate says so once Spot is involved.
  expect(mixed.spotEstimated).toBe(true);
  expect(onDemand.spotEstimated).toBe(false);
});

test('unknown region gives undefined', () => {
  expect(fargatePrices('mars-north-1')).toBeUndefined();
  expect(fargatePrices('constructor')).toBeUndefined();
  expect(estimateCost({ region: 'mars-north-1', cpu: 256, memory: 512, tasks: 1, strategy: [] })).toBeUndefined();
});

test('zero tasks cost nothing', () => {
  const estimate = estimateCost({ ...SMALL, tasks: 0, strategy: ALL_SPOT });
  expect(estimate?.monthlyUsd).toBe(0);
  expect(estimate?.dailyUsd).toBe(0);
});

test('rejects negative or non-finite sizes', () => {
  expect(() => estimateCost({ ...SMALL, tasks: -1, strategy: [] })).toThrow(RangeError);
  expect(() => estimateCost({ ...SMALL, cpu: Number.NaN, tasks: 1, strategy: [] })).toThrow(RangeError);
});

test('every listed region has positive prices with Spot below on-demand', () => {
  for (const region of ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-1', 'ap-northeast-1']) {
    const p = fargatePrices(region);
    expect(p).toBeDefined();
    if (p === undefined) continue;
    expect(p.spot.vcpuHour).toBeGreaterThan(0);
    expect(p.spot.gbHour).toBeGreaterThan(0);
    expect(p.spot.vcpuHour).toBeLessThan(p.onDemand.vcpuHour);
    expect(p.spot.gbHour).toBeLessThan(p.onDemand.gbHour);
    expect(p.source.length).toBeGreaterThan(0);
  }
});
