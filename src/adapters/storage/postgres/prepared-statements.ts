import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';

/** How statements are prepared by name (defaults in DEFAULT_PREPARING). */
export interface PreparingOptions {
  /** A text is prepared from its `after`-th use in the process on (before: sent unnamed). */
  readonly after: number;
  /** Prepared statements one connection keeps on the server at most; the least recently used goes first. */
  readonly perConnection: number;
  /** Distinct texts given a name at most, over the process's life; texts beyond them go unnamed. */
  readonly names: number;
}

/**
 * An order's statements are some fifteen texts seen three times or more in a load run (the write
 * batches of each shape, the key lookup, the reads, the job claim); fifty a connection leave room
 * for the other flows (refunds, recharges, batches). The largest, a five-write batch, holds about
 * 200 KB of server memory once planned, so fifty bound a connection at about 10 MB, the pool at
 * `pool_size` times that; a text of unbounded variety (IN lists of every length) costs nothing
 * more once the names run out.
 */
export const DEFAULT_PREPARING: PreparingOptions = { after: 3, perConnection: 50, names: 1000 };

/** Texts counted towards `after` at most; the count starts again when they fill (harmless). */
const COUNTED = 10_000;

/** The two ways a prepared statement stops serving while the connection lives (SQLSTATEs). */
const INVALID_SQL_STATEMENT_NAME = '26000'; // it is gone (DISCARD ALL, DEALLOCATE by someone else)
const FEATURE_NOT_SUPPORTED = '0A000'; // its saved plan's result columns changed (a migration)

/**
 * A statement that failed because its prepared form went stale, before it ran: a column added to
 * a table it reads with `*` (by another instance's migration) changes its result's type, which a
 * prepared statement may not do; or the statement is gone. Nothing of it ran, so it may simply be
 * sent again — alone, at once (PreparingPool does); inside a transaction, which the error aborted,
 * by running the transaction again.
 */
export function isStalePlan(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown };
  if (err.code === INVALID_SQL_STATEMENT_NAME) return true;
  return (
    err.code === FEATURE_NOT_SUPPORTED &&
    typeof err.message === 'string' &&
    err.message.startsWith('cached plan must not change result type')
  );
}

/**
 * The process's names for statement texts: a text gets one at its `after`-th use, while names
 * remain. Names are never reused, so a connection never holds one name for two texts.
 */
class StatementNames {
  private readonly uses = new Map<string, number>();
  private readonly names = new Map<string, string>();
  private next = 0;

  constructor(private readonly options: PreparingOptions) {}

  /** The name `text` goes by, or undefined while it is sent unnamed. */
  nameFor(text: string): string | undefined {
    const name = this.names.get(text);
    if (name !== undefined || this.names.size >= this.options.names) return name;
    const n = (this.uses.get(text) ?? 0) + 1;
    if (n < this.options.after) {
      if (this.uses.size >= COUNTED) this.uses.clear();
      this.uses.set(text, n);
      return undefined;
    }
    this.uses.delete(text);
    return this.fresh(text);
  }

  /**
   * `name` went stale on a connection: `text` goes by a new name from now on, prepared afresh on
   * each connection, so no other connection meets the stale one (each drops it in time, as the
   * least recently used).
   */
  renew(text: string, name: string): void {
    if (this.names.get(text) === name) this.fresh(text);
  }

  private fresh(text: string): string {
    const name = `autoglm_${(this.next++).toString(36)}`;
    this.names.set(text, name);
    return name;
  }
}

/** The parts of a `pg` client this module touches beyond Kysely's PostgresPoolClient. */
interface PgClient {
  query<R>(sql: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(config: pg.QueryConfig): Promise<PostgresQueryResult<R>>;
  release(): void;
  getTransactionStatus(): string | null;
  readonly connection: { readonly parsedStatements: Record<string, string | undefined> };
}

/**
 * One pooled connection's prepared statements, least recently used first. A statement is dropped
 * (DEALLOCATE) only when the connection is idle (not in a transaction): DEALLOCATE inside one can
 * fail and abort it; while one is open and the list is full, a new text is simply sent unnamed.
 */
class PreparingClient implements PostgresPoolClient {
  private readonly prepared = new Set<string>();

  constructor(
    private readonly client: PgClient,
    private readonly names: StatementNames,
    private readonly options: PreparingOptions,
  ) {}

  query<R>(sql: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(
    what: string | PostgresCursor<R>,
    parameters?: readonly unknown[],
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof what !== 'string') return this.client.query(what);
    // Without parameters pg uses the simple protocol (one message, no plan kept): BEGIN, COMMIT.
    if (parameters === undefined || parameters.length === 0) return this.client.query<R>(what, parameters ?? []);
    const name = this.names.nameFor(what);
    if (name === undefined) return this.client.query<R>(what, parameters);
    return this.named<R>(name, what, parameters);
  }

  release(): void {
    this.client.release();
  }

  private async named<R>(name: string, text: string, values: readonly unknown[]): Promise<PostgresQueryResult<R>> {
    const status = this.client.getTransactionStatus();
    if (this.prepared.has(name)) {
      this.prepared.delete(name); // most recently used: last
      this.prepared.add(name);
    } else {
      if (this.prepared.size >= this.options.perConnection && !(status === 'I' && (await this.dropOldest())))
        return this.client.query<R>(text, values);
      this.prepared.add(name);
    }
    try {
      return await this.client.query<R>({ name, text, values: values as unknown[] });
    } catch (e) {
      if (!isStalePlan(e)) throw e;
      this.names.renew(text, name);
      if ((e as { code?: unknown }).code === INVALID_SQL_STATEMENT_NAME) this.forget(name);
      // Outside a transaction nothing ran and nothing was aborted: send it again, unnamed, once.
      if (status === 'I') return this.client.query<R>(text, values);
      throw e;
    }
  }

  /** DEALLOCATE the least recently used statement; false if the server would not. */
  private async dropOldest(): Promise<boolean> {
    const oldest = this.prepared.values().next().value;
    if (oldest === undefined) return true;
    if (this.client.connection.parsedStatements[oldest] !== undefined) {
      try {
        await this.client.query(`deallocate ${oldest}`, []);
      } catch (e) {
        if ((e as { code?: unknown }).code !== INVALID_SQL_STATEMENT_NAME) return false;
      }
    }
    this.forget(oldest);
    return true;
  }

  private forget(name: string): void {
    this.prepared.delete(name);
    // pg's own record of what the server holds: without it, the next use parses the text again.
    delete this.client.connection.parsedStatements[name];
  }
}

/**
 * A `pg` pool whose connections send a statement text seen often by name: the server parses and
 * analyses it once per connection and, after five runs, may keep one generic plan for it, instead
 * of parsing and planning it on every run (an order's write batches are texts of several KB that
 * only their parameters tell apart). Bounded as PreparingOptions says; a prepared statement that
 * went stale (isStalePlan) is sent again unnamed when it ran alone, and renamed for the future.
 */
export function preparingPool(pool: pg.Pool, options: PreparingOptions = DEFAULT_PREPARING): PostgresPool {
  const names = new StatementNames(options);
  const wrapped = new WeakMap<pg.PoolClient, PreparingClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let c = wrapped.get(client);
      if (c === undefined) {
        c = new PreparingClient(client as unknown as PgClient, names, options);
        wrapped.set(client, c);
      }
      return c;
    },
    end: () => pool.end(),
  };
}
