/**
 * How worker processes that share one database find out about each other. A single process
 * needs none of it (its own worker loop is woken in memory); several `autoglm serve` instances
 * on one PostgreSQL database use it to wake idle peers and to take back the jobs of a peer
 * that died without waiting for its leases to expire.
 */
export interface WorkCoordination {
  /**
   * Announce this worker as alive for as long as the process runs (until `close`). Call once,
   * before the worker loop starts claiming.
   */
  join(workerId: string): Promise<void>;
  /**
   * Tell idle workers elsewhere that due work is waiting. Cheap to call often: signals are
   * coalesced and sent outside every transaction, so they never slow a commit.
   */
  announce(): void;
  /** Call `listener` when another worker announces work; returns the unsubscribe function. */
  onAnnounce(listener: () => void): () => void;
  /**
   * Make the jobs leased by workers that are no longer alive available at once (their leases
   * count as expired), instead of after the lease time. Returns the owners found dead and how
   * many jobs they held. Engines that cannot tell a dead worker from a slow one return none.
   */
  reclaimOrphans(now: number): Promise<{ readonly owners: readonly string[]; readonly jobs: number }>;
  /**
   * Whether this process is, of all the processes on the database, the one that does `role` now
   * (e.g. the webhook dispatcher, which reads every audit row): so work that every instance could
   * do, and that costs per row rather than per caller, is done once and not once per instance.
   * At most one holds a role at a time while it lives and stays connected; when it dies another's
   * next call takes it over. Advisory only: the work must stay correct when two briefly both
   * believe they hold it (a lost connection), or when none can tell (no connection: true).
   */
  lead(role: string): Promise<boolean>;
  /**
   * Give up every role this process holds and take none again: a draining process calls it
   * first, so another instance's next `lead` takes its roles at once instead of when this one
   * exits. Its liveness (and so its leased jobs) stays until `close`.
   */
  resign(): Promise<void>;
  /**
   * How many other processes are alive on the database now (joined and connected); 0 where none
   * can be (SQLite). Rejects when it cannot tell now (its connection is down): keep what you knew.
   */
  otherInstances(): Promise<number>;
  /** Stop listening and leave (a still-leased job of ours then counts as orphaned). */
  close(): Promise<void>;
}
