/** Time is injected so tests and simulations are repeatable. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Call `fn` once, `ms` from now on this clock (0: as soon as the current work yields). Returns
   * a function that cancels it. The job runner's polls, retries and lease renewals use this, so a
   * test steps a manual clock instead of sleeping.
   */
  readonly schedule: (ms: number, fn: () => void) => () => void;
}

/** Wait `ms` on `clock`. */
export function sleepOn(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.schedule(ms, resolve));
}
