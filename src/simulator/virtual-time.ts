/**
 * Simulated time for simulations that should take seconds, not hours: `sleep` only queues a
 * wake-up, and `run` advances the clock straight to the next wake-up once every promise chain
 * that can run has run. Nothing here may touch real timers or I/O, or time stands still.
 */
export class VirtualTime {
  private t: number;
  private seq = 0;
  /** Binary min-heap on (at, seq): wake-ups in time order, FIFO among equals. */
  private readonly heap: Array<{ at: number; seq: number; wake: () => void }> = [];

  constructor(start = 0) {
    this.t = start;
  }

  readonly now = (): number => this.t;

  readonly sleep = (ms: number): Promise<void> =>
    new Promise((wake) => {
      this.push({ at: this.t + Math.max(0, ms), seq: this.seq++, wake });
    });

  /** Wake-ups still queued. */
  get pending(): number {
    return this.heap.length;
  }

  /** Run `work` to completion on simulated time. Throws if it waits on something that never comes. */
  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    work.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (;;) {
      // One macrotask turn lets every queued promise continuation run first.
      await new Promise<void>((r) => setImmediate(r));
      if (settled) return work;
      const next = this.pop();
      if (next === undefined) throw new Error('virtual time: the work waits on something no timer will bring');
      this.t = next.at;
      next.wake();
    }
  }

  private push(item: { at: number; seq: number; wake: () => void }): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private pop(): { at: number; seq: number; wake: () => void } | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(l, m)) m = l;
      if (r < h.length && this.less(r, m)) m = r;
      if (m === i) return top;
      this.swap(i, m);
      i = m;
    }
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a];
    const y = this.heap[b];
    if (x === undefined || y === undefined) return false;
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    const h = this.heap;
    const x = h[a];
    const y = h[b];
    if (x === undefined || y === undefined) return;
    h[a] = y;
    h[b] = x;
  }
}
