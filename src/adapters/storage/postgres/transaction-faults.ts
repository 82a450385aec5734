import { AsyncLocalStorage } from 'node:async_hooks';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

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
    return {
      createDriver: () => new FaultInjectingDriver(dialect.createDriver(), this.current, this.faults),
      createQueryCompiler: () => dialect.createQueryCompiler(),
      createAdapter: () => dialect.createAdapter(),
      createIntrospector: (db) => dialect.createIntrospector(db),
    };
  }
}

/** A pooled connection that, while it carries an attempt's transaction, asks before each statement. */
class FaultableConnection implements DatabaseConnection {
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
class FaultInjectingDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly current: AsyncLocalStorage<Attempt>,
    private readonly faults: TransactionFaults,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new FaultableConnection(await this.inner.acquireConnection(), this.faults);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const c = connection as FaultableConnection;
    await this.inner.beginTransaction(c.inner, settings);
    c.attempt = this.current.getStore();
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as FaultableConnection;
    c.attempt = undefined;
    return this.inner.commitTransaction(c.inner);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as FaultableConnection;
    c.attempt = undefined;
    return this.inner.rollbackTransaction(c.inner);
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.inner.savepoint?.((connection as FaultableConnection).inner, name, compile);
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await this.inner.rollbackToSavepoint?.((connection as FaultableConnection).inner, name, compile);
  }

  async releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await this.inner.releaseSavepoint?.((connection as FaultableConnection).inner, name, compile);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    const c = connection as FaultableConnection;
    c.attempt = undefined;
    return this.inner.releaseConnection(c.inner);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}
