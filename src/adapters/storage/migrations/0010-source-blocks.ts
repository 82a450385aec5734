import type { Kysely } from 'kysely';

/**
 * Migration 0010_source_blocks: sources (IP addresses, credentials) blocked after repeated
 * failures. One row per source, reused by its next block, so the primary key holds "one block in
 * force per source" across instances; each block has its own id for operators to lift it by.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('source_blocks')
    .addColumn('source', 'text', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull())
    // Failures per kind within the window when the block began, as JSON text.
    .addColumn('reasons_json', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('blocked_until', 'bigint', (c) => c.notNull())
    .addColumn('lifted_at', 'bigint')
    .addColumn('lifted_by', 'text')
    .execute();
  // Every instance asks for the blocks in force about once a second.
  await db.schema.createIndex('source_blocks_until').on('source_blocks').columns(['blocked_until']).execute();
}
