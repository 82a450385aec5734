/**
 * What a write can find when it reaches the database, as errors every engine throws alike. On
 * PostgreSQL writes may travel in batches (see adapters/storage/postgres/write-batching.ts), so a
 * checked write may learn only when its batch is sent that it fell short: it then throws these,
 * just as the caller would have on the write's own `false`.
 */

/** Thrown inside a transaction when this process no longer holds the job's lease: roll back. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

/** A version-checked write found its row changed by someone else since it was read: roll back. */
export class StaleVersionError extends Error {
  override readonly name = 'StaleVersionError';
}
