/**
 * A statement file that cannot be read as its layout says: a missing column, a bad amount, an
 * unknown business type, a broken zip. Reconciliation reports it (code `STATEMENT_INVALID`) and
 * never reconciles a day against half a statement.
 */
export class StatementInvalidError extends Error {
  readonly code = 'STATEMENT_INVALID' as const;

  constructor(
    /** The file's name (StatementFile.name). */
    readonly file: string,
    /** The 1-based line (or Juhe order) that is wrong; null when the file as a whole is. */
    readonly line: number | null,
    readonly reason: string,
  ) {
    super(`${file}${line === null ? '' : `:${String(line)}`}: ${reason}`);
    this.name = 'StatementInvalidError';
  }
}
