import { closeSync, fdatasync, openSync } from 'node:fs';

/** Flushes a file descriptor's data to the disk, calling back with the error or null. */
export type SyncFile = (fd: number, done: (err: Error | null) => void) => void;

interface Waiter {
  readonly upTo: number;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/** The write-ahead log could not be flushed: what was committed since the last flush may not be on the disk. */
export class WalSyncError extends Error {
  readonly code = 'STORAGE_SYNC_FAILED';
  constructor(cause: Error) {
    super(`the database's write-ahead log could not be flushed to the disk: ${cause.message}`, { cause });
    this.name = 'WalSyncError';
  }
}

/**
 * Group commit of the write-ahead log's flushes, off the event loop. With `synchronous=NORMAL` a
 * SQLite COMMIT writes its WAL frames to the kernel (they survive the process's death) but does
 * not flush them; this flushes them with `fdatasync` on libuv's thread pool, one flush for every
 * commit made while the previous flush ran, and tells each commit when it is on the disk. The
 * event loop goes on with the next transactions meanwhile instead of waiting inside COMMIT, as
 * `synchronous=FULL` makes it.
 *
 * The WAL file keeps its identity while a connection to the database is open (SQLite removes it
 * only when the last connection closes), so the descriptor opened on the first flush stays
 * right for the life of the writer. A flush that fails is final (Linux may drop the pages it
 * could not write and report the failure only once): every commit waiting and every later one
 * is refused with `WalSyncError`, and the database must be reopened.
 */
export class WalSync {
  private fd: number | undefined;
  private committed = 0;
  private synced = 0;
  private inFlight: Promise<void> | undefined;
  private ended: (() => void) | undefined;
  private failure: WalSyncError | undefined;
  private waiters: Waiter[] = [];
  /** Flushes started, for tests and benchmarks. */
  flushes = 0;

  constructor(
    private readonly walPath: string,
    private readonly syncFile: SyncFile = fdatasync,
  ) {}

  /** The flush failed: nothing more may be acknowledged as durable. */
  get failed(): WalSyncError | undefined {
    return this.failure;
  }

  /** Whether a flush is running now. */
  get flushing(): boolean {
    return this.inFlight !== undefined;
  }

  /** Resolves when the flush running now has ended, well or not (at once when none runs). */
  flushed(): Promise<void> {
    return this.inFlight ?? Promise.resolve();
  }

  /** A COMMIT has just written its frames: answers the point a flush must reach to cover it. */
  commit(): number {
    this.committed += 1;
    return this.committed;
  }

  /**
   * Resolves once every commit up to `upTo` (default: every commit so far) is on the disk;
   * rejects with `WalSyncError` when the flush failed.
   */
  durable(upTo = this.committed): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.synced >= upTo) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ upTo, resolve, reject });
      this.flush();
    });
  }

  /** What a read must wait for before it may see committed data: nothing when all of it is on the disk. */
  barrier(): Promise<void> | undefined {
    return this.failure === undefined && this.synced >= this.committed ? undefined : this.durable();
  }

  /** Waits for the last flush, then closes the descriptor (before the database itself closes). */
  async close(): Promise<void> {
    await this.durable().catch(() => undefined);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private flush(): void {
    if (this.inFlight !== undefined || this.failure !== undefined || this.synced >= this.committed) return;
    let fd: number;
    try {
      fd = this.fd ??= openSync(this.walPath, 'r+');
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    this.inFlight = new Promise<void>((r) => (this.ended = r));
    this.flushes += 1;
    const upTo = this.committed;
    this.syncFile(fd, (err) => {
      this.inFlight = undefined;
      this.ended?.();
      if (err !== null) {
        this.fail(err);
        return;
      }
      this.synced = upTo;
      const still: Waiter[] = [];
      for (const w of this.waiters) {
        if (w.upTo <= upTo) w.resolve();
        else still.push(w);
      }
      this.waiters = still;
      this.flush();
    });
  }

  private fail(cause: Error): void {
    this.failure = new WalSyncError(cause);
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
  }
}
