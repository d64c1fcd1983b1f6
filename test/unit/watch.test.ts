import { expect, test } from '@jest/globals';
import { type Clock, pollUntil, scaledClock, timeScaleFromEnv } from '../../src/watch.ts';

function fakeClock(): Clock & { sleeps: number[] } {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

test('backs off while nothing changes, up to the maximum, and tightens when something changes', async () => {
  const clock = fakeClock();
  let n = 0;
  const outcome = await pollUntil({
    clock,
    timeoutSeconds: 600,
    intervals: { initialSeconds: 1, maxSeconds: 5, factor: 2 },
    poll: async () => {
      n++;
      return { done: n === 8, changed: n === 5, value: n };
    },
  });
  expect(outcome).toEqual({ value: 8, timedOut: false, polls: 8 });
  expect(clock.sleeps).toEqual([2000, 4000, 5000, 5000, 1000, 2000, 4000]);
});

test('times out with the last value, never sleeping past the deadline', async () => {
  const clock = fakeClock();
  const outcome = await pollUntil({ clock, timeoutSeconds: 12, poll: async () => ({ done: false, changed: false, value: 'pending' }) });
  expect(outcome.timedOut).toBe(true);
  expect(outcome.value).toBe('pending');
  expect(clock.now()).toBe(12_000);
});

test('an error from a poll propagates instead of turning into a timeout', async () => {
  await expect(
    pollUntil({
      clock: fakeClock(),
      timeoutSeconds: 60,
      poll: async () => {
        throw new Error('AccessDeniedException');
      },
    }),
  ).rejects.toThrow('AccessDeniedException');
});

test('the time scale shortens real waits and stretches reported time', async () => {
  expect(timeScaleFromEnv({ ECS_DEPLOY_ACTIONS_TIME_SCALE: '100' })).toBe(100);
  expect(timeScaleFromEnv({ ECS_DEPLOY_ACTIONS_TIME_SCALE: 'fast' })).toBe(1);
  const clock = scaledClock(100);
  const before = clock.now();
  const wallBefore = Date.now();
  await clock.sleep(2000);
  expect(Date.now() - wallBefore).toBeLessThan(500);
  expect(clock.now() - before).toBeGreaterThanOrEqual(1500);
});
