import type { Clock } from '../../src/ports/clock.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** One event-loop turn: every promise continuation and immediate queued before it runs first. */
export const turn = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

/**
 * Simulated time for the whole world: timers fire only when the simulation steps the clock, in
 * (time, creation) order, never on a real timer. Between two firings the event loop is turned a
 * fixed number of times so the work a timer set off (SQLite commits, promise chains, injected
 * HTTP requests) runs — the same amount every run, which is what makes a seed replay exactly.
 */
export class SimClock {
  private t: number;
  private seq = 0;
  /** Timers in firing order: (time, creation). */
  private readonly queue: Timer[] = [];
  /** Timers fired so far (a measure of a run's work). */
  fired = 0;

  constructor(
    start: number,
    private readonly turnsPerFiring = 3,
  ) {
    this.t = start;
  }

  readonly now = (): number => this.t;

  readonly schedule = (ms: number, fn: () => void): (() => void) => {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(timer);
    return () => {
      timer.cancelled = true;
    };
  };

  readonly sleep = (ms: number): Promise<void> => new Promise((r) => this.schedule(ms, r));

  /** Let the event loop run what is ready, without moving time. */
  async settle(turns = this.turnsPerFiring): Promise<void> {
    for (let i = 0; i < turns; i++) await turn();
  }

  /**
   * Move time to `until`, firing every timer due on the way; `after` runs after each firing
   * (the simulation checks for a crashed instance there). Returns the timers fired.
   */
  async runUntil(until: number, after?: () => Promise<void>): Promise<number> {
    let fired = 0;
    await this.settle();
    for (;;) {
      const next = this.queue[0];
      if (next === undefined || next.at > until) break;
      this.queue.shift();
      if (next.cancelled) continue;
      this.t = Math.max(this.t, next.at);
      next.fn();
      fired += 1;
      this.fired += 1;
      await this.settle();
      if (after !== undefined) await after();
    }
    this.t = Math.max(this.t, until);
    return fired;
  }

  /** A clock for one app instance: the same time, but its timers all die with it (`kill`). */
  view(): Clock & { kill(): void } {
    const mine = new Set<() => void>();
    let dead = false;
    return {
      now: this.now,
      schedule: (ms, fn) => {
        if (dead) return () => undefined;
        let cancel: () => void = () => undefined;
        cancel = this.schedule(ms, () => {
          mine.delete(cancel);
          if (!dead) fn();
        });
        mine.add(cancel);
        return () => {
          mine.delete(cancel);
          cancel();
        };
      },
      kill: () => {
        dead = true;
        for (const c of mine) c();
        mine.clear();
      },
    };
  }

  /** Keep the queue in firing order: a binary search for the place (a run holds a few hundred timers at most). */
  private push(x: Timer): void {
    const q = this.queue;
    let lo = 0;
    let hi = q.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (less(q[mid]!, x)) lo = mid + 1;
      else hi = mid;
    }
    q.splice(lo, 0, x);
  }
}

function less(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
