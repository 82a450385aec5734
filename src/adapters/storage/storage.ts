import type { UnitOfWork } from '../../ports/repositories.js';
import type { WorkCoordination } from '../../ports/work-coordination.js';

/** The database engines storage runs on. */
export type Engine = 'sqlite' | 'postgres';

/** An opened, migrated database, whichever engine: what the composition root wires in. */
export interface Storage {
  readonly engine: Engine;
  readonly unitOfWork: UnitOfWork;
  readonly coordination: WorkCoordination;
  /**
   * Statements sent to the database server since it was opened (each one round trip: BEGIN and
   * COMMIT count); absent where statements are calls into the process (SQLite).
   */
  statementsSent?(): number;
  /** Whether the database answers a trivial query (readiness). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
