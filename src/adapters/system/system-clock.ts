import type { Clock } from '../../ports/clock.js';

/** Wall-clock time and real timers (which never keep the process alive on their own). */
export const systemClock: Clock = {
  now: () => Date.now(),
  schedule: (ms, fn) => {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return () => clearTimeout(t);
  },
};

/**
 * A clock tests move by hand: timers fire only when `advance` (or `set`) reaches them, in time
 * order, with the clock reading their time. A timer for 0 ms fires as soon as the event loop
 * turns, as a real one would, so work that only needs "now" is not held up.
 */
export class ManualClock implements Clock {
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  readonly schedule = (ms: number, fn: () => void): (() => void) => {
    if (ms <= 0) {
      const handle = setImmediate(fn);
      return () => clearImmediate(handle);
    }
    const id = this.seq++;
    this.timers.set(id, { at: this.t + ms, fn });
    return () => {
      this.timers.delete(id);
    };
  };

  /** Move time forward by `ms`, firing every timer due on the way. */
  advance(ms: number): void {
    this.set(this.t + ms);
  }

  set(t: number): void {
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers)
        if (entry[1].at <= t && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = Math.max(this.t, t);
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.timers.size;
  }
}
