import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';

/**
 * An append-only, fsync'd JSON-lines file that lets a simulator — the outside world — outlive
 * the process that hosts it, so a test can SIGKILL the service and still ask the "bank" what
 * really happened. Entries are written before the simulator answers.
 */
export class Journal {
  private fd: number | undefined;

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
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
