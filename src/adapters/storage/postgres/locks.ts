/**
 * Namespaces of the two-key advisory locks this application takes on PostgreSQL
 * (`pg_advisory_lock(namespace, hashtext(name))`). Two-key locks never collide with one-key
 * ones, such as the one Kysely's migrator holds.
 */
export const LOCK_NAMESPACE = {
  /** Held for its whole life by each worker process, on its listening connection: "I am alive". */
  workerAlive: 0x41474c01,
  /** Held for one transaction by whoever decides a user's spending (daily limit). */
  userSpending: 0x41474c02,
  /** Held for one transaction by whoever changes a tenant's people's roles or access (last admin). */
  tenantPeople: 0x41474c03,
  /** Held for its whole life by the one process doing a role (`lead`), on its listening connection. */
  role: 0x41474c04,
} as const;

/** The channel idle workers LISTEN on; the payload is the announcing worker's id. */
export const JOBS_CHANNEL = 'autoglm_jobs';

/** The channel the database notifies on when API keys or principals change (migration 0034). */
export const CREDENTIALS_CHANNEL = 'autoglm_credentials';

/** Where instances confirm they heard a credential change an instance named (payload: token, worker id). */
export const CREDENTIALS_SEEN_CHANNEL = 'autoglm_credentials_seen';
