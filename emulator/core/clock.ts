// Emulated time: wall time x timeScale plus explicit advances. Timers fire in emulated-time order, so
// a deployment that takes minutes on AWS takes seconds here and reports AWS-like durations.
import type { Clock, TimerHandle } from './types.ts';

interface Timer extends TimerHandle {
  due: number;
  fn: () => void;
}

export interface ManagedClock extends Clock {
  /** Stops the wall timer; pending emulated timers stay but never fire. */
  stop(): void;
  /** Drops every pending timer (reset of the account). */
  clearAll(): void;
}

export function createClock(timeScale = 1, startMs = Date.now()): ManagedClock {
  const wallStart = Date.now();
  let offsetMs = 0;
  // While timers fire, now() is pinned to the firing timer's due time so handlers see a consistent instant.
  let pinned: number | undefined;
  let nextId = 1;
  let timers: Timer[] = [];
  let wallTimer: NodeJS.Timeout | undefined;
  let firing = false;
  let stopped = false;

  const computed = (): number => startMs + (Date.now() - wallStart) * timeScale + offsetMs;
  const now = (): number => pinned ?? computed();

  function fireDue(): void {
    if (firing) return;
    firing = true;
    try {
      for (;;) {
        const limit = computed();
        const next = timers[0];
        if (!next || next.due > limit) break;
        timers.shift();
        pinned = Math.max(next.due, pinned ?? 0);
        try {
          next.fn();
        } catch (err) {
          // A failing timer must not stop the others; surface it on stderr.
          console.error('emulator timer failed:', err);
        }
      }
    } finally {
      pinned = undefined;
      firing = false;
    }
    schedule();
  }

  function schedule(): void {
    if (wallTimer) clearTimeout(wallTimer);
    wallTimer = undefined;
    const next = timers[0];
    if (!next || stopped) return;
    const wallMs = Math.max(0, (next.due - computed()) / timeScale);
    wallTimer = setTimeout(fireDue, Math.min(wallMs, 2_147_000_000));
    wallTimer.unref();
  }

  return {
    timeScale,
    now,
    setTimer(seconds, fn) {
      const timer: Timer = { id: nextId++, due: now() + Math.max(0, seconds) * 1000, fn };
      // Stable insertion keeps equal-due timers in creation order.
      let i = timers.length;
      while (i > 0 && (timers[i - 1] as Timer).due > timer.due) i--;
      timers.splice(i, 0, timer);
      if (!firing) schedule();
      return { id: timer.id };
    },
    clearTimer(handle) {
      timers = timers.filter((t) => t.id !== handle.id);
      if (!firing) schedule();
    },
    advance(seconds) {
      offsetMs += Math.max(0, seconds) * 1000;
      fireDue();
    },
    stop() {
      stopped = true;
      if (wallTimer) clearTimeout(wallTimer);
      wallTimer = undefined;
    },
    clearAll() {
      timers = [];
      schedule();
    },
  };
}
