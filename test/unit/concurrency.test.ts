import { expect, test } from '@jest/globals';
import { settleAll } from '../../src/concurrency.ts';

test('settleAll runs at most `limit` at once, keeps the order, and one failure stops nothing', async () => {
  let running = 0;
  let peak = 0;
  const results = await settleAll([5, 1, 4, 2, 3, 0], 2, async (delay, index) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setTimeout(resolve, delay * 5));
    running--;
    if (index === 1) throw new Error('one failed');
    return delay * 10;
  });
  expect(peak).toBe(2);
  expect(results.map((result) => (result.status === 'fulfilled' ? result.value : 'failed'))).toEqual([50, 'failed', 40, 20, 30, 0]);
  expect(await settleAll([], 5, async () => 1)).toEqual([]);
});
