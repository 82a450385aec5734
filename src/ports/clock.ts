/** Time is injected so tests and simulations are repeatable. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}
