// Waiting on AWS: a clock that can run faster than real time, and polling that backs off while
// nothing changes and tightens again when something does. Errors from a poll are never swallowed.

/** Emulated time for the action. Against the emulator both sides run `timeScale` times faster than real time. */
export interface Clock {
  /** Milliseconds, on the scaled timeline. */
  now(): number;
  sleep(milliseconds: number): Promise<void>;
}

export const TIME_SCALE_VARIABLE = 'ECS_DEPLOY_ACTIONS_TIME_SCALE';

/** The shared time-scale setting; 1 (real time) unless the emulator's harness sets it. */
export function timeScaleFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const scale = Number(env[TIME_SCALE_VARIABLE] ?? '1');
  return Number.isFinite(scale) && scale >= 1 ? scale : 1;
}

export function scaledClock(timeScale = timeScaleFromEnv()): Clock {
  const origin = Date.now();
  return {
    now: () => origin + (Date.now() - origin) * timeScale,
    sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds / timeScale)),
  };
}

export interface PollIntervals {
  initialSeconds: number;
  maxSeconds: number;
  factor: number;
}

/** At most 5 s between polls, so a failure ECS reports is seen within 5 s. */
export const deploymentPolling: PollIntervals = { initialSeconds: 1, maxSeconds: 5, factor: 1.5 };

export interface PollResult<T> {
  done: boolean;
  /** Something a person would notice changed since the last poll (resets the interval). */
  changed: boolean;
  value: T;
}

export interface PollOutcome<T> {
  value: T;
  timedOut: boolean;
  polls: number;
}

/** Polls until done or until the timeout passes; returns the last value either way. */
export async function pollUntil<T>(options: {
  clock: Clock;
  timeoutSeconds: number;
  intervals?: PollIntervals;
  poll: () => Promise<PollResult<T>>;
}): Promise<PollOutcome<T>> {
  const { clock, timeoutSeconds, poll } = options;
  const intervals = options.intervals ?? deploymentPolling;
  const deadline = clock.now() + timeoutSeconds * 1000;
  let interval = intervals.initialSeconds;
  let polls = 0;
  for (;;) {
    const result = await poll();
    polls++;
    if (result.done) return { value: result.value, timedOut: false, polls };
    const remaining = deadline - clock.now();
    if (remaining <= 0) return { value: result.value, timedOut: true, polls };
    interval = result.changed ? intervals.initialSeconds : Math.min(interval * intervals.factor, intervals.maxSeconds);
    await clock.sleep(Math.min(interval * 1000, remaining));
  }
}
