import { sql, type UpdateQueryBuilder } from 'kysely';
import type { CamelCaseDatabase } from '../schema.js';
import { filterOnly } from './columns.js';

/**
 * Marks on the writes that may travel in a batch on PostgreSQL (postgres/write-batching.ts): a
 * comment at the end of the statement, which every engine ignores. A write carries one only when
 * its caller needs nothing back from it but "it touched exactly the rows it had to", and answers a
 * shortfall by rolling the transaction back — so learning of it when the batch is sent, as an
 * error (ports/write-outcomes.ts), changes nothing but when:
 * - `version`: a version-checked update of one row (a shortfall: StaleVersionError);
 * - `lease`: an update of one job row under this worker's lease (a shortfall: LeaseLostError);
 * - `insert`: a plain insert of its VALUES rows (a failure is the database's own error).
 */
export const BATCHABLE = {
  version: sql.raw('/*batch:version*/'),
  lease: sql.raw('/*batch:lease*/'),
  insert: sql.raw('/*batch:insert*/'),
} as const;

export type BatchKind = keyof typeof BATCHABLE;

/**
 * The mark of an insert whose rows its statement's shape does not show (INSERT … SELECT): the
 * table and how many rows it must write, named in the mark itself.
 */
export function batchableInsert(table: string, rows: number): ReturnType<typeof sql.raw> {
  if (!/^[a-z_]+$/.test(table) || !Number.isSafeInteger(rows) || rows < 1) {
    throw new RangeError(`a batchable insert names a table and at least one row, not ${table}:${rows}`);
  }
  return sql.raw(`/*batch:insert:${table}:${rows}*/`);
}

const MARK = /\/\*batch:(version|lease|insert)(?::([a-z_]+):(\d+))?\*\/$/;

/** The mark a compiled statement ends with, if any. */
export function batchKind(sqlText: string): BatchKind | undefined {
  const m = MARK.exec(sqlText);
  return m === null ? undefined : (m[1] as BatchKind);
}

/** The table and row count a mark names (batchableInsert), if it names them. */
export function markedTarget(sqlText: string): { table: string; rows: number } | undefined {
  const m = MARK.exec(sqlText);
  return m?.[2] === undefined || m[3] === undefined ? undefined : { table: m[2], rows: Number(m[3]) };
}

/**
 * `q` limited to one row of a tenant at the version its writer read (`expected`), and marked as
 * a version-checked write: how every versioned record is updated. The row is found by its key
 * alone (the tenant checked on it, never an index key: columns.ts filterOnly).
 */
export function versionChecked<T extends 'orders' | 'payments', O>(
  q: UpdateQueryBuilder<CamelCaseDatabase, T, T, O>,
  a: { readonly tenantId: string; readonly id: string; readonly expected: number },
): UpdateQueryBuilder<CamelCaseDatabase, T, T, O> {
  const versioned = q as unknown as UpdateQueryBuilder<CamelCaseDatabase, 'orders', 'orders', O>;
  return versioned
    .where('id', '=', a.id)
    .where(filterOnly('tenantId'), '=', a.tenantId)
    .where('version', '=', a.expected)
    .modifyEnd(BATCHABLE.version) as unknown as UpdateQueryBuilder<CamelCaseDatabase, T, T, O>;
}
