import type { AuditChainHead } from './records.js';

/** Every tenant's chain head at one moment: kept outside the database, it pins the chain's past. */
export interface AuditCheckpoint {
  /** When the heads were read (epoch ms). */
  readonly at: number;
  readonly heads: readonly AuditChainHead[];
}

/**
 * Where periodic checkpoints go (a file today; anywhere an attacker with the database's
 * credentials cannot rewrite). Appends, never replaces: older checkpoints stay checkable.
 */
export interface AuditCheckpointSink {
  /** Where it writes, for the log. */
  readonly describe: string;
  append(checkpoint: AuditCheckpoint): Promise<void>;
}
