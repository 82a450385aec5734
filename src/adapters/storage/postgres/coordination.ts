import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from '../../../ports/logger.js';
import type { WorkCoordination } from '../../../ports/work-coordination.js';
import type { Database } from '../schema.js';
import type { CredentialCache } from './credential-cache.js';
import { CREDENTIALS_CHANNEL, CREDENTIALS_SEEN_CHANNEL, JOBS_CHANNEL, LOCK_NAMESPACE } from './locks.js';

/** At most one NOTIFY per this many ms per process: a notifying commit takes a global lock. */
const ANNOUNCE_GAP_MS = 100;
const RECONNECT_MS = 1000;
/** A process that does not hold a role asks again at most this often (each poll: ~4/s per instance). */
const LEAD_RETRY_MS = 1000;
/** How long a credential change waits for every other live instance to say it forgot its keys. */
const CREDENTIALS_SEEN_WAIT_MS = 2000;

/**
 * Work sharing between processes on one PostgreSQL database.
 *
 * Liveness: each worker holds a session advisory lock keyed by its id on a dedicated connection
 * for as long as it lives. PostgreSQL drops the lock the moment that connection dies — the
 * process crashed or was killed — so a peer that can take the lock knows the owner is gone and
 * hands its leased jobs back at once instead of waiting out the lease. A peer whose connection
 * merely blipped may lose jobs this way; that is the same case as a lease running out under
 * a long pause, and the same guards hold (only the lease owner can commit a job's step, and
 * every outside call carries its idempotency key).
 *
 * Wake-ups: the same connection LISTENs; `announce` sends a NOTIFY from outside any transaction,
 * coalesced to at most one per ANNOUNCE_GAP_MS, never on the payment-commit path.
 *
 * Credentials: the same connection LISTENs for changes to API keys and principals, and tells the
 * process's credential cache (`CredentialCache`): each notification clears it, and it keeps
 * nothing while the connection is down (a change made then would go unheard). An instance that
 * changed credentials itself (`credentialsChanged`, after its transaction commits) names the
 * change on the same channel and waits until every other live instance (each holds a liveness
 * lock) says it has heard it, with or without a cache: so a key revoked through one instance is
 * refused by all of them once the revocation is answered, as without any cache.
 *
 * Roles (`lead`): a session advisory lock per role on the same connection, so a role moves to
 * another process when its holder dies or loses the connection, like the liveness lock — or
 * when it starts to drain (`resign` unlocks them), so the work it led does not pause until it
 * has finished draining and exits.
 */
export class PostgresCoordination implements WorkCoordination {
  private workerId = '';
  private listener: pg.Client | undefined;
  private readonly listeners = new Set<() => void>();
  private sending = false;
  private again = false;
  private closed = false;
  /** Draining: no role is held or taken any more (`resign`). */
  private resigned = false;
  private reconnect: NodeJS.Timeout | undefined;
  /** Roles whose lock the current listening connection holds (they go with it). */
  private readonly led = new Set<string>();
  /** When each role not held was last asked for (ms since the epoch). */
  private readonly asked = new Map<string, number>();
  /** Credential changes of ours waiting to be heard: the instances that said so, and the wake-up. */
  private readonly unheard = new Map<string, { readonly seen: Set<string>; check: () => void }>();
  /**
   * The listening connection's statements, one after another: timers, notifications and callers
   * all use it, and `pg` will stop queueing a query sent while another runs (deprecated in 8.x).
   * Sent in the order asked, as before: an acknowledgement follows what was asked before it.
   */
  private readonly queued = new WeakMap<pg.Client, Promise<unknown>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clientConfig: pg.ClientConfig,
    private readonly logger: Logger,
    private readonly credentials?: CredentialCache,
  ) {}

  /** `text` on `client` once every statement asked of it before has finished. */
  private query<R extends pg.QueryResultRow>(
    client: pg.Client,
    text: string,
    values: readonly unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    const run = (this.queued.get(client) ?? Promise.resolve()).then(() => client.query<R>(text, [...values]));
    this.queued.set(
      client,
      run.catch(() => undefined),
    );
    return run;
  }

  async join(workerId: string): Promise<void> {
    this.workerId = workerId;
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.clientConfig);
    client.on('error', (e) => this.lost(client, e));
    client.on('end', () => this.lost(client, undefined));
    client.on('notification', (m) => {
      if (m.channel === JOBS_CHANNEL && m.payload !== this.workerId) this.notifyListeners();
      else if (m.channel === CREDENTIALS_CHANNEL) this.heard(client, m.payload ?? '');
      else if (m.channel === CREDENTIALS_SEEN_CHANNEL) this.seen(m.payload ?? '');
    });
    await client.connect();
    try {
      const r = await this.query<{ alive: boolean }>(client, 'select pg_try_advisory_lock($1, hashtext($2)) as alive', [
        LOCK_NAMESPACE.workerAlive,
        this.workerId,
      ]);
      // Another live process uses the same id (or its hash): we cannot prove our liveness, so our
      // jobs wait for their leases to expire, as without coordination.
      if (r.rows[0]?.alive !== true)
        this.logger.warn(
          { worker_id: this.workerId },
          'another process holds this worker id; crash recovery of its jobs falls back to lease expiry',
        );
      await this.query(client, `listen ${JOBS_CHANNEL}`);
      await this.query(client, `listen ${CREDENTIALS_CHANNEL}`);
      await this.query(client, `listen ${CREDENTIALS_SEEN_CHANNEL}`);
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    this.listener = client;
    // Every change from here on is heard of: keys read from now on may be kept.
    if (!this.closed) this.credentials?.listening(true);
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.listener !== client || this.closed) return;
    this.listener = undefined;
    this.credentials?.listening(false);
    this.led.clear();
    this.asked.clear();
    client.end().catch(() => undefined);
    this.logger.warn({ err: error }, 'lost the PostgreSQL listening connection; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnect !== undefined) return;
    this.reconnect = setTimeout(() => {
      this.reconnect = undefined;
      this.connect().then(
        // Announcements may have been missed while we were away: look for work once.
        () => this.notifyListeners(),
        () => this.scheduleReconnect(),
      );
    }, RECONNECT_MS);
    this.reconnect.unref();
  }

  private notifyListeners(): void {
    for (const l of this.listeners) l();
  }

  /**
   * A change to keys or principals: forget every key kept. One named by an instance that waits
   * (a token, not ours) is answered once forgotten — on this connection, so after anything this
   * process does with the notification.
   */
  private heard(client: pg.Client, token: string): void {
    this.credentials?.invalidate();
    if (token === '' || this.unheard.has(token)) return;
    this.query(client, 'select pg_notify($1, $2)', [CREDENTIALS_SEEN_CHANNEL, `${token} ${this.workerId}`]).catch(
      () => undefined,
    ); // the connection is going: the waiter stops waiting for us when it does
  }

  private seen(payload: string): void {
    const [token = '', worker = ''] = payload.split(' ');
    const waiting = this.unheard.get(token);
    if (waiting === undefined || worker === this.workerId) return;
    waiting.seen.add(worker);
    waiting.check();
  }

  /**
   * After a transaction that changed keys or principals committed (the database has notified
   * every listener): name the change and wait until every other live instance has heard it, at
   * most CREDENTIALS_SEEN_WAIT_MS (one that cannot answer that long is stuck or going; the
   * notification still reaches it first when it comes back).
   */
  async credentialsChanged(): Promise<void> {
    const client = this.listener;
    if (client === undefined || this.closed) return;
    const token = randomUUID();
    let check = (): void => undefined;
    const waiting = { seen: new Set<string>(), check: () => check() };
    this.unheard.set(token, waiting);
    let timer: NodeJS.Timeout | undefined;
    try {
      const need = await this.othersAlive(client);
      if (need === 0) return;
      const all = new Promise<boolean>((resolve) => {
        check = () => {
          if (waiting.seen.size >= need) resolve(true);
        };
        timer = setTimeout(() => resolve(false), CREDENTIALS_SEEN_WAIT_MS);
      });
      await this.query(client, 'select pg_notify($1, $2)', [CREDENTIALS_CHANNEL, token]);
      if (!(await all))
        this.logger.warn(
          { heard: waiting.seen.size, instances: need },
          'not every instance confirmed a change to API keys or people in time; ' +
            'the others forget their keys when they hear it',
        );
    } catch (e) {
      this.logger.warn({ err: e }, 'could not confirm a change to API keys or people with the other instances');
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      this.unheard.delete(token);
    }
  }

  /** The other instances alive now: each holds its liveness lock on its listening connection. */
  private async othersAlive(client: pg.Client): Promise<number> {
    const r = await this.query<{ n: number }>(
      client,
      `select count(*)::int as n from pg_locks
       where locktype = 'advisory' and classid = $1 and objsubid = 2 and granted and pid <> pg_backend_pid()`,
      [LOCK_NAMESPACE.workerAlive],
    );
    return r.rows[0]?.n ?? 0;
  }

  async otherInstances(): Promise<number> {
    const client = this.listener;
    // Not connected: we cannot tell (the caller keeps what it knew).
    if (client === undefined) throw new Error('not connected to the database for coordination');
    return this.othersAlive(client);
  }

  announce(): void {
    if (this.closed) return;
    if (this.sending) {
      this.again = true;
      return;
    }
    this.sending = true;
    void this.send();
  }

  private async send(): Promise<void> {
    try {
      do {
        this.again = false;
        await sql`select pg_notify(${JOBS_CHANNEL}, ${this.workerId})`.execute(this.db);
        await new Promise((r) => setTimeout(r, ANNOUNCE_GAP_MS).unref());
      } while (this.again && !this.closed);
    } catch (e) {
      if (!this.closed)
        this.logger.warn({ err: e }, 'could not announce due jobs; idle workers will find them by polling');
    } finally {
      this.sending = false;
    }
  }

  onAnnounce(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async reclaimOrphans(now: number): Promise<{ owners: string[]; jobs: number }> {
    // Owners first (materialised), then the lock test per owner, so the planner cannot try a
    // lock per row. Our own id is excluded; a live owner's lock fails; a dead one's succeeds and
    // is held only by this statement. Their leases become expired; claiming does the rest.
    const { rows } = await sql<{ lease_owner: string }>`
      with owners as materialized (
        select distinct lease_owner as owner from jobs
        where status = 'running' and lease_until >= ${now}
          and lease_owner is not null and lease_owner <> ${this.workerId}
      ), dead as materialized (
        select owner from owners
        where pg_try_advisory_xact_lock(${sql.lit(LOCK_NAMESPACE.workerAlive)}, hashtext(owner))
      )
      update jobs set lease_until = 0, updated_at = ${now}
      from dead where jobs.lease_owner = dead.owner and jobs.status = 'running'
      returning jobs.lease_owner`.execute(this.db);
    return { owners: [...new Set(rows.map((r) => r.lease_owner))], jobs: rows.length };
  }

  async lead(role: string): Promise<boolean> {
    if (this.closed || this.resigned) return false;
    const client = this.listener;
    // No connection to hold a role on (never joined, or reconnecting): act, as every instance
    // did before roles existed; what a role guards is safe when several do it.
    if (client === undefined) return true;
    if (this.led.has(role)) return true;
    const now = Date.now();
    if (now - (this.asked.get(role) ?? Number.NEGATIVE_INFINITY) < LEAD_RETRY_MS) return false;
    this.asked.set(role, now);
    try {
      const r = await this.query<{ held: boolean }>(client, 'select pg_try_advisory_lock($1, hashtext($2)) as held', [
        LOCK_NAMESPACE.role,
        role,
      ]);
      // Lost meanwhile: the lock, if taken, went with that connection.
      if (r.rows[0]?.held !== true || this.listener !== client) return false;
      // Resigned while asking: hand it straight back.
      if (this.resigned) {
        await this.unlock(client, [role]);
        return false;
      }
      this.led.add(role);
      return true;
    } catch {
      return false; // the connection is going: `lost` reconnects, and the next call asks again
    }
  }

  async resign(): Promise<void> {
    this.resigned = true;
    const roles = [...this.led];
    this.led.clear();
    const client = this.listener;
    // No connection: whatever it held went with the one that was lost.
    if (client !== undefined) await this.unlock(client, roles);
  }

  private async unlock(client: pg.Client, roles: readonly string[]): Promise<void> {
    for (const role of roles) {
      await this.query(client, 'select pg_advisory_unlock($1, hashtext($2))', [LOCK_NAMESPACE.role, role])
        // The connection is going: the lock goes with it.
        .catch(() => undefined);
    }
    if (roles.length > 0) this.logger.info({ roles }, 'gave up the lead: draining');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.credentials?.listening(false);
    this.led.clear();
    if (this.reconnect !== undefined) clearTimeout(this.reconnect);
    this.listeners.clear();
    const client = this.listener;
    this.listener = undefined;
    await client?.end().catch(() => undefined);
  }
}
