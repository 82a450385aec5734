import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { LeaseLostError, StaleVersionError } from '../../../ports/write-outcomes.js';
import { type BatchKind, batchKind, markedTarget } from '../kysely/batchable.js';
import { columnName } from '../kysely/with-camel-case.js';
import { DelegatingDriver, withDriver, type WrappedConnection } from './delegating-driver.js';

/** The SQLSTATE autoglm_expect_rows raises (migration 0023) when a write of a batch fell short. */
const SHORTFALL = 'AGB01';

/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505';

/**
 * Writes that travel together. Inside a transaction, a write marked batchable (kysely/batchable.ts)
 * is held back and answered at once as if it had touched the rows it had to; the held writes go to
 * the server, in order, as ONE statement (data-modifying CTEs ending in a check that every one
 * touched its rows, which otherwise fails the statement whole) when anything else is sent, or at
 * COMMIT. BEGIN itself waits for the first statement that must run inside the transaction: a
 * transaction that only writes — most of an order's — is one round trip, its batch alone, atomic
 * as every statement is. Nothing else changes: every read still sees every write before it, and a
 * write that fell short fails the transaction with the error its caller would have thrown
 * (ports/write-outcomes.ts), only later.
 *
 * Statements of one batch run on one snapshot and cannot see each other's rows, so an update of a
 * table the batch already writes is sent after what is held (a second update of one row would
 * not find it). `sent` counts what actually goes to the server.
 */
export function batchingWrites(dialect: Dialect, sent: () => void): Dialect {
  return withDriver(dialect, (driver) => new BatchingDriver(driver, sent));
}

interface Held {
  readonly query: CompiledQuery;
  readonly kind: BatchKind;
  readonly table: string;
  readonly rows: number;
}

/**
 * The table a write names, and how many rows it must touch (an update: one; an insert: its VALUES,
 * or what its mark says for an INSERT … SELECT).
 */
export function target(query: CompiledQuery): { table: string; rows: number; update: boolean } | undefined {
  const marked = markedTarget(query.sql);
  if (marked !== undefined) return { ...marked, update: false };
  const node = query.query as unknown as {
    kind: string;
    table?: { table?: { identifier?: { name?: string } }; kind?: string };
    into?: { table?: { identifier?: { name?: string } } };
    values?: { kind?: string; values?: readonly unknown[] };
  };
  if (node.kind === 'UpdateQueryNode') {
    const name = node.table?.table?.identifier?.name;
    return name === undefined ? undefined : { table: name, rows: 1, update: true };
  }
  if (node.kind === 'InsertQueryNode') {
    const name = node.into?.table?.identifier?.name;
    const rows = node.values?.kind === 'ValuesNode' ? node.values.values?.length : undefined;
    return name === undefined || rows === undefined ? undefined : { table: name, rows, update: false };
  }
  return undefined;
}

/**
 * `sql` with its parameters $1…$n renumbered from `offset + 1`. A scan rather than a replace with
 * a callback: every held write of every batch goes through here, and the scan costs a quarter as
 * much (0.5 µs against 2.5 µs for an update of 18 parameters).
 */
export function shifted(sql: string, offset: number): string {
  if (offset === 0) return sql;
  let out = '';
  let from = 0;
  for (let i = sql.indexOf('$'); i >= 0; i = sql.indexOf('$', i + 1)) {
    let j = i + 1;
    let n = 0;
    for (let c = sql.charCodeAt(j); c >= 48 && c <= 57; c = sql.charCodeAt(++j)) n = n * 10 + c - 48; // 0-9
    if (j === i + 1) continue; // a $ not followed by digits
    out += sql.slice(from, i + 1) + String(n + offset);
    from = j;
    i = j - 1;
  }
  return from === 0 ? sql : out + sql.slice(from);
}

/** The error a write that fell short throws: what its caller would have thrown on its `false`. */
function shortfall(kind: BatchKind, table: string): Error {
  if (kind === 'lease') return new LeaseLostError(`the lease on a ${table} row was lost`);
  if (kind === 'version') return new StaleVersionError(`a ${table} row was changed by someone else`);
  return new Error(`an insert into ${table} wrote fewer rows than it had`);
}

/**
 * A batch that failed on a duplicate key in `table`, when a checked write (version or lease) came
 * before the insert into it: the error that write's caller would have met first, sent one by one.
 * Two writers that settle the same thing write the same keys (a payment's ledger journal): the one
 * that lost read a version the other has since moved on, so its update would have touched no row
 * and it would have stopped there, with a conflict to retry on fresh state; in one statement the
 * duplicate surfaces instead, as all the batch's writes run together. Without such a write before
 * the insert, the duplicate is the error (undefined here).
 */
function raceBehind(held: readonly Held[], table: string | undefined): Error | undefined {
  if (table === undefined) return undefined;
  const insert = held.findIndex((h) => h.kind === 'insert' && columnName(h.table) === table);
  const checked = held.slice(0, insert < 0 ? 0 : insert).find((h) => h.kind !== 'insert');
  return checked === undefined ? undefined : shortfall(checked.kind, checked.table);
}

class BatchingConnection implements WrappedConnection {
  /** idle: no transaction; pending: BEGIN not sent yet; open: BEGIN sent. */
  state: 'idle' | 'pending' | 'open' = 'idle';
  private held: Held[] = [];

  constructor(
    readonly inner: DatabaseConnection,
    private readonly sent: () => void,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.state !== 'idle') {
      const kind = batchKind(query.sql);
      const t = kind === undefined ? undefined : target(query);
      if (kind !== undefined && t !== undefined) {
        // Sent ahead inside BEGIN: only the COMMIT's batch may go without one.
        if (t.update && this.held.some((h) => h.table === t.table)) await this.sync();
        this.held.push({ query, kind, table: t.table, rows: t.rows });
        return { rows: [], numAffectedRows: BigInt(t.rows) };
      }
      await this.sync();
    }
    return this.send<R>(query);
  }

  async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    if (this.state !== 'idle') await this.sync();
    this.sent();
    yield* this.inner.streamQuery<R>(query, chunkSize);
  }

  /**
   * COMMIT: what is held goes just before it (alone, if BEGIN was never needed). When it fails
   * inside BEGIN the transaction stays open here, for the ROLLBACK that follows to end it.
   */
  async commit(): Promise<void> {
    if (this.state === 'open') {
      await this.flush();
      await this.send(CompiledQuery.raw('commit'));
      this.reset();
      return;
    }
    try {
      await this.flush();
    } finally {
      this.reset();
    }
  }

  /** BEGIN sent and what is held sent: for what must run inside the transaction as it stands. */
  async sync(): Promise<void> {
    await this.begin();
    await this.flush();
  }

  async rollback(): Promise<void> {
    const open = this.state === 'open';
    this.reset();
    if (open) await this.send(CompiledQuery.raw('rollback'));
  }

  reset(): void {
    this.state = 'idle';
    this.held = [];
  }

  /** Forget what is held (rolled back to a savepoint taken when nothing was held). */
  drop(): void {
    this.held = [];
  }

  private async begin(): Promise<void> {
    if (this.state !== 'pending') return;
    this.state = 'open';
    await this.send(CompiledQuery.raw('begin'));
  }

  private send<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    this.sent();
    return this.inner.executeQuery<R>(query);
  }

  /** Send what is held: one write as it is, several as one statement that fails whole on a shortfall. */
  private async flush(): Promise<void> {
    const held = this.held;
    if (held.length === 0) return;
    this.held = [];
    if (held.length === 1) {
      const [only] = held as [Held];
      const res = await this.send(only.query);
      // Alone and outside BEGIN, a write that fell short wrote nothing: an update found no row.
      if (Number(res.numAffectedRows ?? 0n) !== only.rows) throw shortfall(only.kind, only.table);
      return;
    }
    const parameters: unknown[] = [];
    const ctes = held.map((h, i) => {
      const text = `b${i} as (${shifted(h.query.sql, parameters.length)} returning 1)`;
      parameters.push(...h.query.parameters);
      return text;
    });
    const got = held.map((_, i) => `(select count(*) from b${i})`).join(', ');
    const want = held.map((h) => h.rows).join(', ');
    const kinds = held.map((h) => `'${h.kind}'`).join(', ');
    const sql =
      `with ${ctes.join(', ')} select autoglm_expect_rows(array[${got}]::bigint[], ` +
      `array[${want}]::bigint[], array[${kinds}]::text[])`;
    try {
      await this.send(CompiledQuery.raw(sql, parameters));
    } catch (e) {
      const err = e as { code?: string; message?: string; table?: string };
      if (err.code === UNIQUE_VIOLATION) throw raceBehind(held, err.table) ?? e;
      if (err.code !== SHORTFALL) throw e;
      const index = Number(/ (\d+)$/.exec(err.message ?? '')?.[1] ?? '1') - 1;
      const h = held[index] ?? held[0]!;
      throw shortfall(h.kind, h.table);
    }
  }
}

class BatchingDriver extends DelegatingDriver<BatchingConnection> {
  constructor(
    inner: Driver,
    private readonly sent: () => void,
  ) {
    super(inner);
  }

  protected wrap(connection: DatabaseConnection): BatchingConnection {
    return new BatchingConnection(connection, this.sent);
  }

  override async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const c = connection as BatchingConnection;
    if (settings.isolationLevel !== undefined || settings.accessMode !== undefined) {
      // Settings go with BEGIN: send it now.
      this.sent();
      await super.beginTransaction(c, settings);
      c.state = 'open';
      return;
    }
    c.state = 'pending';
  }

  override commitTransaction(connection: DatabaseConnection): Promise<void> {
    return (connection as BatchingConnection).commit();
  }

  override rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return (connection as BatchingConnection).rollback();
  }

  override async savepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await (connection as BatchingConnection).sync(); // a savepoint marks the transaction as it stands on the server
    this.sent();
    await super.savepoint(connection, name, compile);
  }

  override async rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    (connection as BatchingConnection).drop(); // held since the savepoint: undone with it
    this.sent();
    await super.rollbackToSavepoint(connection, name, compile);
  }

  override async releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    this.sent();
    await super.releaseSavepoint(connection, name, compile);
  }

  override releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as BatchingConnection).reset();
    return super.releaseConnection(connection);
  }
}
