import { type RawBuilder, sql } from 'kysely';

/** pg returns bigint as string; SQLite returns numbers. Money never exceeds 2^53 (domain bound). */
export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));

/**
 * A text column's value, to be compared as a filter and never used as an index key: the same
 * value (`column || ''` of a NOT NULL column), in a form no index of the column can serve. For a
 * lookup by primary key that also checks another column (the tenant, a job's status).
 *
 * PostgreSQL plans a prepared statement once per connection (its generic plan, from the sixth
 * run) and keeps that plan until the table's statistics change. While a table has no statistics
 * (new, never analysed: autovacuum off or not there yet) and is small, every index looks alike to
 * the planner, and for `tenant_id = $1 and id = $2` it chose an index that starts with
 * `tenant_id` (orders_tenant_user_created) over the primary key: every update of an order then
 * read all the tenant's orders, and kept doing so as they grew (1,300 → 6,700 buffers an order
 * update over 14,000 orders, the database's CPU an order growing from run to run). Compared this
 * way, only the key's index can serve the lookup, whatever the statistics say; the other column
 * is checked as before, on the one row the key finds.
 */
export const filterOnly = (column: string): RawBuilder<string> => sql<string>`${sql.ref(column)} || ''`;
