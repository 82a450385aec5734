import type { Logger } from '../../src/ports/logger.js';

/** A logger that drops everything, for storage tests that open adapters directly. */
export const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => quiet,
};
