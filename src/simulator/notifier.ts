import { seededRandom } from './random.js';
import type { SimEvent } from './simulated-gateway.js';

/** A callback ready to POST: the face's protocol decides the headers and the exact body. */
export interface OutgoingNotification {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface NotifierChaos {
  /** Probability that a callback is delivered twice (each copy retried until 2xx). */
  readonly duplicateRate: number;
  /** Probability that a callback is held back `outOfOrderDelayMs`, so later ones overtake it. */
  readonly outOfOrderRate: number;
  /** Probability that a callback is never sent. */
  readonly lostRate: number;
  /** Probability that a copy with a corrupted signature is sent too (once, not retried). */
  readonly wrongSignatureRate: number;
  readonly outOfOrderDelayMs: number;
}

export const NO_NOTIFIER_CHAOS: NotifierChaos = {
  duplicateRate: 0,
  outOfOrderRate: 0,
  lostRate: 0,
  wrongSignatureRate: 0,
  outOfOrderDelayMs: 2000,
};

export interface NotifierRetry {
  /** Wait after the first failed attempt; doubles each time, with seeded jitter (50–100 %). */
  readonly baseMs: number;
  readonly maxMs: number;
  /** Attempts before giving up (WeChat Pay makes 15 over a day; the simulator compresses time). */
  readonly maxAttempts: number;
}

export interface NotifierOptions {
  /** Where events come from: the simulator's order book. */
  readonly source: { onEvent(listener: (e: SimEvent) => void): () => void };
  /** The face's protocol: the signed callback for an event. */
  readonly format: (e: SimEvent) => OutgoingNotification | Promise<OutgoingNotification>;
  /** Which events this notifier sends (the others belong to another face). Default: all. */
  readonly accepts?: (e: SimEvent) => boolean;
  /** How to make a wrongly signed copy; the default corrupts every `*signature*` header (or the body). */
  readonly forge?: (n: OutgoingNotification) => OutgoingNotification;
  readonly chaos?: Partial<NotifierChaos>;
  readonly seed?: number;
  readonly retry?: Partial<NotifierRetry>;
  /** Per-attempt deadline in ms (default 5 s, the answer time WeChat Pay allows). */
  readonly timeoutMs?: number;
  /** Sends one attempt; answers the HTTP status, or 0 when there was no answer. Default: fetch. */
  readonly post?: (url: string, n: OutgoingNotification, timeoutMs: number) => Promise<number>;
}

export type DeliveryState = 'pending' | 'delivered' | 'lost' | 'gave_up' | 'refused';

/** One delivery of one callback, for the ground truth of a run. */
export interface DeliveryRecord {
  readonly id: number;
  /** Same for every copy of the same event, e.g. "payment:T1:succeeded". */
  readonly eventKey: string;
  readonly url: string;
  readonly copy: 'original' | 'duplicate' | 'forged';
  readonly delayed: boolean;
  state: DeliveryState;
  attempts: number;
  readonly statuses: number[];
}

const DEFAULT_RETRY: NotifierRetry = { baseMs: 1000, maxMs: 60_000, maxAttempts: 15 };

/**
 * The simulator's callback dispatcher, shared by every face: it listens to the order book,
 * asks the face to format and sign each event, and POSTs it to the trade's notify URL, retrying
 * with backoff until the receiver answers 2xx — as real gateways do. Chaos (seeded) makes it
 * duplicate, delay, lose or forge callbacks, so the receiver's de-duplication, ordering and
 * signature checks get exercised. Pending retries live in memory only.
 */
export class Notifier {
  private readonly records: DeliveryRecord[] = [];
  private chaos: NotifierChaos;
  private random: () => number;
  private readonly retry: NotifierRetry;
  private readonly timeoutMs: number;
  private readonly post: (url: string, n: OutgoingNotification, timeoutMs: number) => Promise<number>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly unsubscribe: () => void;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly options: NotifierOptions) {
    this.chaos = { ...NO_NOTIFIER_CHAOS, ...options.chaos };
    this.random = seededRandom(options.seed ?? 1);
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.post = options.post ?? postWithFetch;
    this.unsubscribe = options.source.onEvent((e) => this.onEvent(e));
  }

  /** Change the chaos for the rest of the run; a seed restarts the generator. */
  setChaos(chaos: Partial<NotifierChaos>, seed?: number): void {
    this.chaos = { ...NO_NOTIFIER_CHAOS, ...chaos };
    if (seed !== undefined) this.random = seededRandom(seed);
  }

  /** Every delivery so far (live objects: states change as attempts finish). */
  get deliveries(): readonly DeliveryRecord[] {
    return this.records;
  }

  /** Resolves when no delivery is waiting or in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stop listening and drop pending retries. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const r of this.records) if (r.state === 'pending') r.state = 'gave_up';
    this.inFlight = 0;
    this.settleIdle();
  }

  private onEvent(e: SimEvent): void {
    const url = e.trade.notifyUrl;
    if (this.closed || url === undefined || !(this.options.accepts?.(e) ?? true)) return;
    const eventKey =
      e.kind === 'payment'
        ? `payment:${e.trade.outTradeNo}:${e.trade.status}`
        : `refund:${e.trade.outTradeNo}:${e.outRefundNo}`;
    // Draw every decision up front, in a fixed order, so a seed replays the same run.
    const lost = this.random() < this.chaos.lostRate;
    const forged = this.random() < this.chaos.wrongSignatureRate;
    const delayed = this.random() < this.chaos.outOfOrderRate;
    const duplicate = this.random() < this.chaos.duplicateRate;
    if (lost) {
      this.records.push({
        id: this.records.length + 1,
        eventKey,
        url,
        copy: 'original',
        delayed: false,
        state: 'lost',
        attempts: 0,
        statuses: [],
      });
      return;
    }
    this.inFlight += 1;
    // Format while the event is fresh: the trade object moves on (e.g. refunded) afterwards.
    Promise.resolve(this.options.format(e)).then(
      (n) => {
        this.inFlight -= 1;
        if (this.closed) return this.settleIdle();
        const delay = delayed ? this.chaos.outOfOrderDelayMs : 0;
        this.schedule(this.newRecord(eventKey, url, 'original', delayed), n, delay);
        if (duplicate) this.schedule(this.newRecord(eventKey, url, 'duplicate', delayed), n, delay);
        if (forged)
          this.schedule(this.newRecord(eventKey, url, 'forged', false), (this.options.forge ?? forgeSignature)(n), 0);
        this.settleIdle();
      },
      () => {
        // The face could not sign it: nothing to send (recorded as lost, so the run shows it).
        this.inFlight -= 1;
        this.records.push({
          id: this.records.length + 1,
          eventKey,
          url,
          copy: 'original',
          delayed: false,
          state: 'lost',
          attempts: 0,
          statuses: [],
        });
        this.settleIdle();
      },
    );
  }

  private newRecord(eventKey: string, url: string, copy: DeliveryRecord['copy'], delayed: boolean): DeliveryRecord {
    const r: DeliveryRecord = {
      id: this.records.length + 1,
      eventKey,
      url,
      copy,
      delayed,
      state: 'pending',
      attempts: 0,
      statuses: [],
    };
    this.records.push(r);
    return r;
  }

  private schedule(r: DeliveryRecord, n: OutgoingNotification, delayMs: number): void {
    this.inFlight += 1;
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.attempt(r, n);
    }, delayMs);
    t.unref();
    this.timers.add(t);
  }

  private async attempt(r: DeliveryRecord, n: OutgoingNotification): Promise<void> {
    if (this.closed) return;
    r.attempts += 1;
    const status = await this.post(r.url, n, this.timeoutMs).catch(() => 0);
    if (this.closed) return;
    r.statuses.push(status);
    this.inFlight -= 1;
    if (status >= 200 && status < 300) r.state = 'delivered';
    // A forged copy is sent once: the receiver is expected to refuse it.
    else if (r.copy === 'forged') r.state = 'refused';
    else if (r.attempts >= this.retry.maxAttempts) r.state = 'gave_up';
    else {
      const backoff = Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** (r.attempts - 1));
      this.schedule(r, n, backoff * (0.5 + this.random() / 2));
    }
    this.settleIdle();
  }

  private settleIdle(): void {
    if (this.inFlight > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

const flipFirst = (v: string): string => (v[0] === 'A' ? 'B' : 'A') + v.slice(1);

/**
 * The default forgery: flip the first character of every `*signature*` header (WeChat Pay, the
 * simulator's own protocol), else of a form-encoded `sign` field (Alipay), else make the body
 * differ from what was signed.
 */
export function forgeSignature(n: OutgoingNotification): OutgoingNotification {
  const headers: Record<string, string> = {};
  let touched = false;
  for (const [k, v] of Object.entries(n.headers)) {
    if (/signature/i.test(k) && v.length > 0) {
      headers[k] = flipFirst(v);
      touched = true;
    } else headers[k] = v;
  }
  if (touched) return { headers, body: n.body };
  const signField = /(^|&)sign=([^&]+)/.exec(n.body);
  if (signField?.[2] !== undefined) {
    const at = signField.index + signField[0].length - signField[2].length;
    return { headers, body: n.body.slice(0, at) + flipFirst(signField[2]) + n.body.slice(at + signField[2].length) };
  }
  return { headers, body: `${n.body} ` };
}

async function postWithFetch(url: string, n: OutgoingNotification, timeoutMs: number): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: n.headers,
    body: n.body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  await res.arrayBuffer();
  return res.status;
}
