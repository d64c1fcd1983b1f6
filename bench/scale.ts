// scale-schedule on 10, 50 and 100 environments against an emulator that adds latency to every AWS
// call: wall time of a sleep and a wake, and how the reads are batched.
import { seedEnvironments } from '../test/helpers/environments.ts';
import { startWorld } from '../test/helpers/world.ts';

export const CALL_LATENCY_MS = 50;
export const SIZES = [10, 50, 100];
/** The default, and a wider setting for accounts with headroom. */
export const CONCURRENCIES = [5, 20];

export interface ScaleFigures {
  environments: number;
  concurrency: number;
  sleepSeconds: number;
  wakeSeconds: number;
  /** DescribeServices calls made by the sleep, and the most services one of them asked for. */
  describeServicesCalls: number;
  maxServicesPerCall: number;
  /** Every AWS call the sleep made. */
  sleepCalls: number;
}

export async function measureScale(environments: number, concurrency: number): Promise<ScaleFigures> {
  const world = await startWorld({ callLatencyMs: CALL_LATENCY_MS });
  try {
    // One in four autoscales, as previews with a load test sometimes do.
    const seeds = Array.from({ length: environments }, (_, index) =>
      index % 4 === 0 ? { environment: `pr-${index + 1}`, desiredCount: 1, limits: { min: 1, max: 3 } } : { environment: `pr-${index + 1}`, desiredCount: 1 },
    );
    await seedEnvironments(world, 'bench', seeds);
    const inputs = { cluster: 'bench', environments: 'pr-*', concurrency: String(concurrency) };
    const from = (await world.calls()).length;
    const sleepStart = performance.now();
    const sleep = await world.run('scale-schedule', { inputs: { ...inputs, mode: 'sleep' }, timeoutMs: 300_000 });
    const sleepSeconds = (performance.now() - sleepStart) / 1000;
    if (sleep.exitCode !== 0 || sleep.outputs.changed !== String(environments)) throw new Error(`sleep failed:\n${sleep.stdout}`);
    const calls = (await world.calls()).slice(from);
    // wait: false, so the figure is ours and not the emulated tasks' start-up.
    const wakeStart = performance.now();
    const wake = await world.run('scale-schedule', { inputs: { ...inputs, mode: 'wake', wait: 'false' }, timeoutMs: 300_000 });
    const wakeSeconds = (performance.now() - wakeStart) / 1000;
    if (wake.exitCode !== 0 || wake.outputs.changed !== String(environments)) throw new Error(`wake failed:\n${wake.stdout}`);
    const described = calls.filter((call) => call.operation === 'DescribeServices');
    return {
      environments,
      concurrency,
      sleepSeconds,
      wakeSeconds,
      describeServicesCalls: described.length,
      maxServicesPerCall: Math.max(...described.map((call) => (call.parameters.services as string[]).length)),
      sleepCalls: calls.length,
    };
  } finally {
    await world.stop();
  }
}
