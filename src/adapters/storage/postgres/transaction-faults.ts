import { AsyncLocalStorage } from 'node:async_hooks';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { DelegatingDriver, withDriver, type WrappedConnection } from './delegating-driver.js';

/** Test hook: decide, before each statement of a unit of work, whether the server should fail it. */
export interface TransactionFaults {
  /**
   * attempt: 1 for the first run of a unit of work, 2… for its re-runs; index: 0-based statement
   * number within that attempt.
   */
  beforeStatement(info: {
    readonly attempt: number;
    readonly index: number;
    readonly sql: string;
  }): '40001' | '40P01' | undefined;
}

/** The SQLSTATEs a fault may carry: the two a unit of work runs again after. */
const CODES = new Set(['40001', '40P01']);

/** The attempt of a unit of work being run in this async context, and its statements so far. */
interface Attempt {
  readonly number: number;
  statements: number;
}

/**
 * Fault injection for PostgreSQL units of work (tests only; nothing of it exists unless `faults`
 * is given). A unit of work runs each attempt inside `attempt()`; the transaction it begins on a
 * connection belongs to that attempt, and every statement the transaction then sends is first
 * shown to `faults`. When they name a SQLSTATE, the server itself raises it on that connection
 * instead of running the statement, so the transaction is truly aborted and rolled back, and the
 * error reaches the unit of work just as a real serialization failure or deadlock would.
 * Statements outside units of work (reads, coordination, migrations) never begin such a
 * transaction and are never shown.
 */
export class FaultInjection {
  private readonly current = new AsyncLocalStorage<Attempt>();

  constructor(private readonly faults: TransactionFaults) {}

  /** Run one attempt of a unit of work: the transaction `run` begins is attempt `number`'s. */
  attempt<T>(number: number, run: () => Promise<T>): Promise<T> {
    return this.current.run({ number, statements: 0 }, run);
  }

  /** `dialect` with the transactions of attempts open to faults. */
  dialect(dialect: Dialect): Dialect {
    return withDriver(dialect, (driver) => new FaultInjectingDriver(driver, this.current, this.faults));
  }
}

/** A pooled connection that, while it carries an attempt's transaction, asks before each statement. */
class FaultableConnection implements WrappedConnection {
  /** Set from BEGIN until COMMIT or ROLLBACK of an attempt's transaction, which are not shown. */
  attempt: Attempt | undefined;

  constructor(
    readonly inner: DatabaseConnection,
    private readonly faults: TransactionFaults,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const attempt = this.attempt;
    if (attempt !== undefined) {
      const index = attempt.statements++;
      const code = this.faults.beforeStatement({ attempt: attempt.number, index, sql: query.sql });
      if (code !== undefined) {
        // Checked again at run time: the code is written into the SQL.
        if (!CODES.has(code)) throw new Error(`a fault may only be 40001 or 40P01, not ${String(code)}`);
        await this.inner.executeQuery(
          CompiledQuery.raw(
            `do $$ begin raise exception 'injected fault (attempt %, statement %)', ${attempt.number}, ${index} ` +
              `using errcode = '${code}'; end $$`,
          ),
        );
        throw new Error('the injected fault did not fail'); // unreachable: the server raised it
      }
    }
    return this.inner.executeQuery<R>(query);
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

/** The dialect's own driver, handing out connections that can be failed while they carry an attempt. */
class FaultInjectingDriver extends DelegatingDriver<FaultableConnection> {
  constructor(
    inner: Driver,
    private readonly current: AsyncLocalStorage<Attempt>,
    private readonly faults: TransactionFaults,
  ) {
    super(inner);
  }

  protected wrap(connection: DatabaseConnection): FaultableConnection {
    return new FaultableConnection(connection, this.faults);
  }

  override async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await super.beginTransaction(connection, settings);
    (connection as FaultableConnection).attempt = this.current.getStore();
  }

  override commitTransaction(connection: DatabaseConnection): Promise<void> {
    (connection as FaultableConnection).attempt = undefined;
    return super.commitTransaction(connection);
  }

  override rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    (connection as FaultableConnection).attempt = undefined;
    return super.rollbackTransaction(connection);
  }

  override releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as FaultableConnection).attempt = undefined;
    return super.releaseConnection(connection);
  }
}
