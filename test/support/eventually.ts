import type { ManualClock } from '../../src/adapters/system/system-clock.js';

/** Let the event loop run what is ready (database commits, promise chains) without moving the clock. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
  await new Promise<void>((r) => setTimeout(r, 1));
}

/**
 * Step `clock` forward `stepMs` at a time — its timers fire in order — letting real I/O finish
 * between steps, until `probe`'s value passes `done`. Gives up after `maxMs` of clock time.
 * Time-driven tests wait with this instead of sleeping: nothing happens "later" unless the
 * clock gets there.
 */
export async function eventually<T>(
  clock: ManualClock,
  probe: () => T | Promise<T>,
  done: (value: T) => boolean,
  { stepMs = 10, maxMs = 120_000 }: { readonly stepMs?: number; readonly maxMs?: number } = {},
): Promise<T> {
  const until = clock.now() + maxMs;
  for (;;) {
    await settle();
    const value = await probe();
    if (done(value) || clock.now() >= until) return value;
    clock.advance(stepMs);
  }
}

/** Move `clock` forward by `ms` in steps, letting the work each step sets off finish. */
export async function advanceBy(clock: ManualClock, ms: number, stepMs = 10): Promise<void> {
  const until = clock.now() + ms;
  while (clock.now() < until) {
    clock.advance(Math.min(stepMs, until - clock.now()));
    await settle();
  }
}
