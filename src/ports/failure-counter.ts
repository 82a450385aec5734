import type { FailureCounts, FailureKind, Source } from '../domain/abuse.js';

/**
 * Counts each source's failures over a sliding window. In memory for one instance; in Redis when
 * several instances must add up one source's failures together.
 */
export interface FailureCounter {
  /**
   * Count one failure of `source` at `now` and return its failures, per kind, within the window
   * `(now - windowMs, now]`, this one included.
   */
  hit(source: Source, kind: FailureKind, now: number, windowMs: number): Promise<FailureCounts>;
  /** Forget a source's failures (it was just blocked, or its block lifted: it starts afresh). */
  reset(source: Source): Promise<void>;
}
