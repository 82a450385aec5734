import {
  type Compilable,
  type CompiledQuery,
  createQueryId,
  type DialectAdapter,
  type InsertQueryBuilder,
  type Kysely,
  type QueryResult,
  type RawBuilder,
  type RootOperationNode,
} from 'kysely';

/**
 * Queries whose shape never changes, built and compiled by Kysely once and then run with new
 * values. Building a query's operation tree and compiling it to SQL costs more CPU than many of
 * the queries themselves (~8–11 % of an order on SQLite, the key lookup of every request on
 * PostgreSQL); here the builder runs once per database with placeholders where the values go,
 * Kysely compiles that, and each run only puts the values in the compiled parameter list and
 * hands the result to `db.executeQuery` — Kysely's own path for a `CompiledQuery`: the same
 * connection (a transaction's, when `db` is one), the same plugins on the rows, the same text
 * every time (which PostgreSQL then runs as a named prepared statement).
 *
 * What varies from run to run must be a value: a placeholder cannot change the SQL. It may not
 * decide a branch of the builder, be a list (`in`), or be inlined (`sql.lit`, `sql.raw`); the
 * last two fail at compile time, and a value given for a name the query does not use (or one
 * missing) fails every run (HotQueryError).
 */

/** A run's values do not fit the compiled query: a name missing, unknown or undefined. */
export class HotQueryError extends Error {
  override readonly name = 'HotQueryError';
  readonly code = 'HOT_QUERY_PARAMETERS';
}

/** Where a value goes: a placeholder stands in for `values[row][key]` while the query is compiled. */
class Placeholder {
  constructor(
    readonly row: number,
    readonly key: string,
  ) {}

  // Turning it into a string or number means the builder inlined or compared it: that would be
  // its stand-in's text, not the value, in the SQL for ever.
  [Symbol.toPrimitive](): never {
    throw new HotQueryError(`the value of ${this.key} was used in building the query, not passed as a parameter`);
  }
}

/** A query as compiled once: its text and tree, and for each parameter the value or where to find it. */
interface Template {
  readonly sql: string;
  readonly query: RootOperationNode;
  /** Per parameter: a placeholder, or a constant the builder put there itself (a `limit 1`). */
  readonly slots: readonly unknown[];
  /** The names each row must give, and nothing else. */
  readonly keys: readonly string[];
  readonly rows: number;
}

/** What a build gives: a query builder, or a `sql` template (compiled for the handle it is built on). */
type Built<O> = Compilable<O> | RawBuilder<O>;

function compileTemplate<DB>(
  db: Kysely<DB>,
  built: Built<unknown>,
  placed: readonly Placeholder[],
  rows: number,
): Template {
  const compiled = 'isRawBuilder' in built ? built.compile(db) : built.compile();
  const used = new Set(compiled.parameters.filter((p) => p instanceof Placeholder));
  const lost = placed.find((p) => !used.has(p));
  if (lost !== undefined) throw new HotQueryError(`${lost.key} did not become a parameter of the compiled query`);
  return {
    sql: compiled.sql,
    query: compiled.query,
    slots: compiled.parameters,
    keys: [...new Set(placed.map((p) => p.key))],
    rows,
  };
}

/** `rows` as the parameters of `t`, checked against the names it was compiled with. */
function bind(t: Template, rows: readonly object[]): CompiledQuery {
  if (rows.length !== t.rows) throw new HotQueryError(`${rows.length} rows for a query compiled for ${t.rows}`);
  const values = rows as ReadonlyArray<Readonly<Record<string, unknown>>>;
  for (const row of values) {
    let given = 0;
    for (const _ in row) given++;
    if (given !== t.keys.length) throw misfit(t, row);
  }
  // Every name of `t` has a slot (compileTemplate saw to it): with as many names given, a value
  // found for each slot means exactly the right names were given.
  const slots = t.slots;
  const parameters = new Array<unknown>(slots.length);
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i];
    if (s instanceof Placeholder) {
      const v = values[s.row]?.[s.key];
      if (v === undefined) throw misfit(t, values[s.row] ?? {});
      parameters[i] = v;
    } else parameters[i] = s;
  }
  return { sql: t.sql, query: t.query, parameters, queryId: createQueryId() };
}

function misfit(t: Template, row: Readonly<Record<string, unknown>>): HotQueryError {
  const given = Object.keys(row).filter((k) => row[k] !== undefined);
  const missing = t.keys.filter((k) => row[k] === undefined);
  const unknown = given.filter((k) => !t.keys.includes(k));
  return new HotQueryError(
    `${given.length} values for ${t.keys.length} parameters (${t.keys.join(', ')})` +
      (missing.length > 0
        ? `: no value for ${missing.join(', ')} (a value left out would change the query's shape)`
        : '') +
      (unknown.length > 0 ? `: ${unknown.join(', ')} not in the query` : ''),
  );
}

/**
 * The dialect a handle compiles for. A transaction, a single connection and the database they
 * come from share their executor's adapter (Kysely hands it on), and two databases opened apart
 * have their own, so a query compiled for one is never run on another whose compiler differs.
 */
function dialectOf<DB>(db: Kysely<DB>): DialectAdapter {
  return db.getExecutor().adapter;
}

/** A query of a fixed shape whose values are named: `args` in its build stand in for them. */
export class HotQuery<DB, A extends object, O> {
  private readonly compiled = new WeakMap<DialectAdapter, Template>();

  constructor(private readonly build: (db: Kysely<DB>, args: A) => Built<O>) {}

  /** The compiled query for `db`'s dialect: built on its first run there. */
  private template(db: Kysely<DB>): Template {
    const dialect = dialectOf(db);
    let t = this.compiled.get(dialect);
    if (t === undefined) {
      const placed = new Map<string, Placeholder>();
      const args = new Proxy({} as A, {
        get(_, key) {
          if (typeof key !== 'string') return undefined;
          let p = placed.get(key);
          if (p === undefined) {
            p = new Placeholder(0, key);
            placed.set(key, p);
          }
          return p;
        },
      });
      t = compileTemplate(db, this.build(db, args), [...placed.values()], 1);
      this.compiled.set(dialect, t);
    }
    return t;
  }

  /** Run it on `db` (the database, a transaction, a connection) with `args`. */
  execute(db: Kysely<DB>, args: A): Promise<QueryResult<O>> {
    return db.executeQuery<O>(bind(this.template(db), [args]));
  }

  /** Its rows. */
  async rows(db: Kysely<DB>, args: A): Promise<O[]> {
    return (await this.execute(db, args)).rows;
  }

  /** Its first row, if any. */
  async first(db: Kysely<DB>, args: A): Promise<O | undefined> {
    return (await this.execute(db, args)).rows[0];
  }

  /** How many rows it changed (an update's, a delete's, an insert's). */
  async affected(db: Kysely<DB>, args: A): Promise<number> {
    return Number((await this.execute(db, args)).numAffectedRows ?? 0n);
  }

  /** Its SQL for `db`'s dialect (tests, and to see what runs). */
  sql(db: Kysely<DB>): string {
    return this.template(db).sql;
  }
}

/**
 * `insert into table (…) values (…), …` of rows that all come from one mapper (every column,
 * the same names): compiled on the first insert of each number of rows, with the first row's
 * names; every later row must give exactly those. `finish` adds what follows the values (a
 * batchable mark, an ON CONFLICT clause).
 */
export class HotInsert<DB, T extends keyof DB & string, R extends object> {
  private readonly compiled = new WeakMap<DialectAdapter, Map<number, Template>>();

  constructor(
    private readonly table: T,
    private readonly finish: (q: InsertQueryBuilder<DB, T, unknown>) => Compilable<unknown> = (q) => q,
  ) {}

  private template(db: Kysely<DB>, rows: readonly R[]): Template {
    const dialect = dialectOf(db);
    let byCount = this.compiled.get(dialect);
    if (byCount === undefined) {
      byCount = new Map();
      this.compiled.set(dialect, byCount);
    }
    let t = byCount.get(rows.length);
    if (t === undefined) {
      const keys = Object.keys(rows[0] ?? {});
      const placed: Placeholder[] = [];
      const values = rows.map((_, i) =>
        Object.fromEntries(
          keys.map((k) => {
            const p = new Placeholder(i, k);
            placed.push(p);
            return [k, p];
          }),
        ),
      );
      // The values are placeholders, which Kysely takes as it takes any value.
      const q = db.insertInto(this.table).values(values as never) as unknown as InsertQueryBuilder<DB, T, unknown>;
      t = compileTemplate(db, this.finish(q), placed, rows.length);
      byCount.set(rows.length, t);
    }
    return t;
  }

  /** Insert `rows` (at least one) on `db`; resolves with how many rows the database took. */
  async execute(db: Kysely<DB>, rows: readonly R[]): Promise<number> {
    if (rows.length === 0) throw new HotQueryError('an insert of no rows');
    const res = await db.executeQuery(bind(this.template(db, rows), rows));
    return Number(res.numAffectedRows ?? 0n);
  }
}

/** A query of a fixed shape (see HotQuery); `build` must not branch on `args`. */
export function hotQuery<DB, A extends object, O>(build: (db: Kysely<DB>, args: A) => Built<O>): HotQuery<DB, A, O> {
  return new HotQuery(build);
}
