import { expect, test } from '@jest/globals';
import { createClock } from '../../emulator/core/clock.ts';

test('timers fire in emulated-time order and see their own due time', () => {
  const clock = createClock(1, 0);
  const seen: [string, number][] = [];
  clock.setTimer(30, () => seen.push(['b', clock.now()]));
  clock.setTimer(10, () => {
    seen.push(['a', clock.now()]);
    // A timer set while firing is scheduled from the firing instant and still runs in order.
    clock.setTimer(5, () => seen.push(['a+5', clock.now()]));
  });
  const cancelled = clock.setTimer(20, () => seen.push(['never', clock.now()]));
  clock.clearTimer(cancelled);
  clock.advance(60);
  expect(seen.map(([name]) => name)).toEqual(['a', 'a+5', 'b']);
  expect(seen.map(([, t]) => Math.round(t / 1000))).toEqual([10, 15, 30]);
  expect(clock.now()).toBeGreaterThanOrEqual(60_000);
  clock.stop();
});

test('emulated time runs at timeScale x wall time', async () => {
  const clock = createClock(100, 0);
  const fired = new Promise<number>((resolve) => clock.setTimer(5, () => resolve(clock.now())));
  const wall = Date.now();
  expect(Math.round((await fired) / 1000)).toBe(5);
  // 5 emulated seconds at x100 is 50 ms of wall time.
  expect(Date.now() - wall).toBeLessThan(500);
  clock.stop();
});
