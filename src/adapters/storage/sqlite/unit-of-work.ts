import type SqliteDatabase from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { FieldCipher } from '../../../ports/field-cipher.js';
import { DEFAULT_AUDIT_SHARDS } from '../../../domain/audit-chain.js';
import type { AuditEntry, JobRecord } from '../../../ports/records.js';
import type {
  AuditLog,
  ReadRepositories,
  Repositories,
  UnitOfWork,
  UnitOfWorkMeter,
} from '../../../ports/repositories.js';
import type { CamelCaseDatabase } from '../schema.js';
import { createSqliteRepositories, type StatementCount, Statements, writeAuditRows } from './repositories.js';

interface Pending {
  readonly work: (repos: Repositories) => Promise<unknown>;
  readonly meter: UnitOfWorkMeter | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** Most logical transactions folded into one physical commit. */
const MAX_BATCH = 256;

/**
 * A unit of work for SQLite with group commit. Each `run` is a logical transaction inside its own
 * SAVEPOINT; logical transactions that arrive while a physical one is open join it, and one
 * durable COMMIT (WAL, synchronous=FULL: one fsync) covers them all. A caller's promise resolves
 * only after that COMMIT, so nothing is ever acted on — no gateway called, no answer sent —
 * before it is on disk. A logical transaction that throws is rolled back to its savepoint alone.
 * If the COMMIT itself fails, every logical transaction of the batch fails with it.
 *
 * The work functions must not perform I/O of their own (the house rule: no outside call inside
 * a transaction) and must not call the unit of work again (that would wait for itself).
 */
export class GroupCommitUnitOfWork implements UnitOfWork {
  private readonly queue: Pending[] = [];
  private draining = false;
  readonly read: ReadRepositories;
  /** Logical transactions and physical commits so far, for metrics and benchmarks. */
  readonly stats = { logical: 0, commits: 0 };
  private readonly statements: Statements;

  /**
   * @param db the writer connection, seen through `withCamelCase`
   * @param raw the same connection, for the prepared statements and the transaction control
   * @param counted the statements run on that connection so far (Kysely's and the prepared ones)
   * @param cipher seals the values that hold phone numbers (the composition root's)
   * @param reader a second connection for reads outside transactions (WAL lets it read the last
   *   committed state while a batch is open); the writer itself when there is only one (`:memory:`)
   */
  constructor(
    private readonly db: Kysely<CamelCaseDatabase>,
    private readonly raw: SqliteDatabase.Database,
    private readonly counted: StatementCount,
    private readonly cipher: FieldCipher,
    reader?: { readonly db: Kysely<CamelCaseDatabase>; readonly raw: SqliteDatabase.Database },
    private readonly auditShards: number = DEFAULT_AUDIT_SHARDS,
  ) {
    this.statements = new Statements(raw, counted);
    this.read =
      reader === undefined
        ? createSqliteRepositories(db, this.statements, cipher)
        : createSqliteRepositories(reader.db, new Statements(reader.raw), cipher);
  }

  run<T>(work: (repos: Repositories) => Promise<T>, meter?: UnitOfWorkMeter): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, meter, resolve: resolve as (v: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  /** SQLite has no round trips to save: the claim joins the next group commit like any unit of work. */
  claimDue(owner: string, now: number, leaseUntil: number, limit: number): Promise<JobRecord[]> {
    return this.run((r) => r.jobs.claimDue(owner, now, leaseUntil, limit));
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) await this.batch();
    } catch (e) {
      // The connection itself failed (closed, disk gone): nobody waiting may hang forever.
      for (const p of this.queue.splice(0)) p.reject(e);
    } finally {
      this.draining = false;
    }
  }

  /** One physical transaction: as many queued logical ones as arrive before it commits. */
  private async batch(): Promise<void> {
    await this.db.connection().execute(async (conn) => {
      // Kysely-built queries must run on the connection this batch holds; prepared ones share it.
      const base = createSqliteRepositories(conn, this.statements, this.cipher, this.auditShards);
      const audit = new BatchedAudit(base.audit);
      const repos: Repositories = { ...base, audit };
      const raw = this.raw;
      const done: Array<{ p: Pending; value: unknown }> = [];
      // Refusals wait for the commit too: one may rest on what an earlier logical transaction of
      // this batch wrote, and its caller must not see that before it is on disk.
      const failed: Array<{ p: Pending; e: unknown }> = [];
      const refuse = (): void => {
        for (const f of failed) f.p.reject(f.e);
      };
      try {
        raw.exec('begin immediate');
      } catch (e) {
        for (const p of this.queue.splice(0)) p.reject(e);
        return;
      }
      let count = 0;
      let current: Pending | undefined;
      try {
        for (;;) {
          current = this.queue.shift();
          if (current === undefined) {
            // Give requests already waiting on the event loop one turn to join this commit.
            if (count > 0 && count < MAX_BATCH) await new Promise((r) => setImmediate(r));
            if (this.queue.length > 0 && count < MAX_BATCH) continue;
            break;
          }
          count += 1;
          raw.exec('savepoint lt');
          audit.begin();
          // Logical transactions run one after another on this connection: what it ran meanwhile is this one's.
          const before = this.counted.statements;
          try {
            const value = await current.work(repos);
            raw.exec('release lt');
            audit.keep();
            done.push({ p: current, value });
          } catch (e) {
            raw.exec('rollback to lt');
            raw.exec('release lt');
            audit.drop();
            failed.push({ p: current, e });
          }
          if (current.meter !== undefined) current.meter.statements += this.counted.statements - before;
          current = undefined;
          if (count >= MAX_BATCH) break;
        }
      } catch (e) {
        // The savepoint machinery itself failed: the whole physical transaction is lost.
        if (raw.inTransaction) raw.exec('rollback');
        current?.reject(e);
        for (const d of done) d.p.reject(e);
        refuse();
        return;
      }
      try {
        // The audit rows of every logical transaction kept, in as few statements as possible,
        // inside the same physical transaction as the changes they describe.
        writeAuditRows(this.statements, audit.take(), this.auditShards);
        raw.exec('commit');
      } catch (e) {
        if (raw.inTransaction) raw.exec('rollback');
        for (const d of done) d.p.reject(e);
        refuse();
        return;
      }
      this.stats.logical += done.length;
      this.stats.commits += 1;
      for (const d of done) d.p.resolve(d.value);
      refuse();
    });
  }
}

/**
 * Audit rows of a batch, held until just before its COMMIT and then written together (a few
 * multi-row statements instead of one per logical transaction). Rows of a logical transaction
 * that rolls back to its savepoint are dropped with it.
 */
class BatchedAudit implements AuditLog {
  private pending: AuditEntry[] = [];
  private kept: AuditEntry[] = [];

  constructor(private readonly inner: AuditLog) {}

  begin(): void {
    this.pending = [];
  }

  keep(): void {
    for (const e of this.pending) this.kept.push(e);
    this.pending = [];
  }

  drop(): void {
    this.pending = [];
  }

  take(): AuditEntry[] {
    const all = this.kept;
    this.kept = [];
    return all;
  }

  append(entry: AuditEntry): Promise<void> {
    this.pending.push(entry);
    return Promise.resolve();
  }

  appendMany(entries: readonly AuditEntry[]): Promise<void> {
    for (const e of entries) this.pending.push(e);
    return Promise.resolve();
  }

  // Reads see what is committed and what this batch wrote before; rows held here are not written yet.
  readonly list: AuditLog['list'] = (...a) => this.inner.list(...a);
  readonly trail: AuditLog['trail'] = (...a) => this.inner.trail(...a);
  readonly chains: AuditLog['chains'] = (...a) => this.inner.chains(...a);
  readonly chainHeads: AuditLog['chainHeads'] = (...a) => this.inner.chainHeads(...a);
  readonly chainHead: AuditLog['chainHead'] = (...a) => this.inner.chainHead(...a);
  readonly chainPage: AuditLog['chainPage'] = (...a) => this.inner.chainPage(...a);
  readonly unchained: AuditLog['unchained'] = (...a) => this.inner.unchained(...a);
  readonly atSeq: AuditLog['atSeq'] = (...a) => this.inner.atSeq(...a);
  readonly withHash: AuditLog['withHash'] = (...a) => this.inner.withHash(...a);
}
