/**
 * Structured logger. Adapters mask phone numbers, card numbers and secrets before writing, so
 * callers may pass raw values in `fields`.
 */
export interface Logger {
  debug(fields: Readonly<Record<string, unknown>>, message: string): void;
  info(fields: Readonly<Record<string, unknown>>, message: string): void;
  warn(fields: Readonly<Record<string, unknown>>, message: string): void;
  error(fields: Readonly<Record<string, unknown>>, message: string): void;
  /** A logger that adds these fields (e.g. request_id, trace_id) to every line. */
  child(fields: Readonly<Record<string, unknown>>): Logger;
}
