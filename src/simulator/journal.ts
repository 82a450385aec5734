import { closeSync, existsSync, fsync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';

interface Waiter {
  readonly upTo: number;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/**
 * An append-only JSON-lines file that lets a simulator — the outside world — outlive the process
 * that hosts it, so a test can SIGKILL the service and still ask the "bank" what really happened.
 *
 * An entry is written (to the kernel, which keeps it through the process's death) before the
 * simulator acts on it, and flushed to the disk by a group commit: one `fsync`, off the event
 * loop, for every entry appended while the previous one ran. An answer that must survive the
 * machine too awaits `durable()`. A synchronous fsync per entry blocked the whole service for
 * every gateway and merchant call (a third of an order's CPU profile in the benchmarks).
 */
export class Journal {
  private fd: number | undefined;
  private written = 0;
  private synced = 0;
  private flushing = false;
  private failed: Error | undefined;
  private waiters: Waiter[] = [];

  constructor(private readonly path: string) {}

  /** Every entry written so far (a torn last line from a crash is ignored). */
  load(): unknown[] {
    if (!existsSync(this.path)) return [];
    const out: unknown[] = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (line === '') continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        // the process died mid-write: that entry never counted
      }
    }
    return out;
  }

  append(entry: unknown): void {
    this.fd ??= openSync(this.path, 'a');
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    this.written += 1;
    this.flush();
  }

  /** Resolves once every entry appended so far is on the disk; rejects when the flush failed. */
  durable(): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.synced >= this.written) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ upTo: this.written, resolve, reject }));
  }

  private flush(): void {
    const fd = this.fd;
    if (this.flushing || fd === undefined || this.synced >= this.written) return;
    this.flushing = true;
    const upTo = this.written;
    fsync(fd, (err) => {
      if (this.fd !== fd) return; // closed meanwhile: close() flushed and answered everyone
      this.flushing = false;
      if (err !== null) {
        this.failed = err;
        for (const w of this.waiters.splice(0)) w.reject(err);
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

  close(): void {
    if (this.fd !== undefined) {
      fsyncSync(this.fd);
      closeSync(this.fd);
    }
    this.fd = undefined;
    this.flushing = false;
    this.synced = this.written;
    for (const w of this.waiters.splice(0)) w.resolve();
  }
}
