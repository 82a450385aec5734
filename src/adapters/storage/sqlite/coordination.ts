import type { WorkCoordination } from '../../../ports/work-coordination.js';

/**
 * Coordination for the embedded engine: one process owns the database, its worker loop wakes
 * itself, and a job left by a crash is taken back when its lease expires.
 */
export class SingleProcessCoordination implements WorkCoordination {
  private resigned = false;

  join(): Promise<void> {
    return Promise.resolve();
  }

  announce(): void {
    // Nobody else to wake.
  }

  onAnnounce(): () => void {
    return () => undefined;
  }

  reclaimOrphans(): Promise<{ owners: string[]; jobs: number }> {
    return Promise.resolve({ owners: [], jobs: 0 });
  }

  lead(): Promise<boolean> {
    // The only process on the file does every role, until it drains.
    return Promise.resolve(!this.resigned);
  }

  resign(): Promise<void> {
    this.resigned = true;
    return Promise.resolve();
  }

  otherInstances(): Promise<number> {
    // One process owns the file.
    return Promise.resolve(0);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
