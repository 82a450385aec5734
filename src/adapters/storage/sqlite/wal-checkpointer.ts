import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The worker's code, evaluated (a string, so the same code runs from dist/ and from the sources
 * under test): its own connection to the database, one PASSIVE checkpoint per request.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, busy: r.busy, log: r.log, checkpointed: r.checkpointed });
  } catch (e) {
    parentPort.postMessage({ ok: false, message: e instanceof Error ? e.message : String(e) });
  }
});
`;

interface Outcome {
  readonly ok: boolean;
  readonly log?: number;
  readonly checkpointed?: number;
  readonly message?: string;
}

/**
 * Checkpoints of the write-ahead log on a worker thread. SQLite's automatic checkpoint runs inside
 * the COMMIT that crosses its threshold, on the writer's thread — the event loop — and flushes
 * the WAL and the database file there: with the WAL's own flushes off the loop (WalSync), those
 * checkpoints were most of what was left of COMMIT's time (in a 9,000-order run of bench:cpu on
 * a loaded machine, 103 commits over 3 ms made 617 of its 1,067 ms; 29 and 216 of 643 after).
 * Here a second connection on a worker thread copies the WAL back into the database (PASSIVE:
 * never blocks the writer or the readers), asked at most every `everyMs` while commits come;
 * the writer's own automatic checkpoint stays as a backstop at a higher threshold.
 * A checkpoint that fails is logged by the caller and asked again later: the WAL only grows.
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private asked = false;
  private lastAt = 0;
  private closed = false;
  /** Checkpoints run, and the last one's frames in the WAL and copied back. */
  readonly stats = { checkpoints: 0, failures: 0, log: 0, checkpointed: 0 };

  constructor(
    path: string,
    private readonly onFailure: (message: string) => void,
    private readonly everyMs = 50,
    private readonly now: () => number = Date.now,
  ) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER, { eval: true, workerData: { path, driver } });
    this.worker.unref();
    this.worker.on('message', (m: Outcome) => {
      this.asked = false;
      this.lastAt = this.now();
      if (m.ok) {
        this.stats.checkpoints += 1;
        this.stats.log = m.log ?? 0;
        this.stats.checkpointed = m.checkpointed ?? 0;
      } else {
        this.stats.failures += 1;
        this.onFailure(m.message ?? 'checkpoint failed');
      }
    });
    this.worker.on('error', (e: unknown) => {
      this.closed = true;
      this.asked = false;
      // An error thrown in the worker arrives cloned: SQLite's own keep only their code.
      const { message, code } = (e ?? {}) as { message?: unknown; code?: unknown };
      this.onFailure(typeof message === 'string' ? message : typeof code === 'string' ? code : String(e));
    });
  }

  /** A commit happened: ask for a checkpoint unless one is running or one ended less than `everyMs` ago. */
  committed(): void {
    if (this.asked || this.closed || this.now() - this.lastAt < this.everyMs) return;
    this.asked = true;
    this.worker.postMessage('checkpoint');
  }

  /** Resolves when the checkpoint running now (if any) has ended; for tests. */
  async idle(): Promise<void> {
    while (this.asked && !this.closed) await new Promise((r) => setTimeout(r, 5));
  }

  /** Lets the last checkpoint finish, closes the worker's connection and the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.idle();
    this.closed = true;
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    // Unreferenced, the worker would not keep a process alive that has nothing else left to do
    // until it exits: the caller's await would never end.
    this.worker.ref();
    this.worker.postMessage('close');
    await exited;
  }
}
