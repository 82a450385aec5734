import { AsyncLocalStorage } from 'node:async_hooks';
import { randomFillSync } from 'node:crypto';

/** One position in a W3C trace: the trace, the current span, and its flags (sampled = 01). */
export interface TraceContext {
  /** 32 lower-case hex digits, never all zeros. */
  readonly traceId: string;
  /** 16 lower-case hex digits, never all zeros: the span this work runs as. */
  readonly spanId: string;
  /** Two hex digits; bit 0 is "sampled". */
  readonly flags: string;
}

// version-traceid-parentid-flags (https://www.w3.org/TR/trace-context/#traceparent-header).
const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * The trace context of a `traceparent` header, or undefined when it is absent or malformed (the
 * caller then starts a new trace: a bad header is never an error). Version 00 has exactly four
 * fields; a later version may carry more, which are ignored; version ff is invalid.
 */
export function parseTraceparent(header: unknown): TraceContext | undefined {
  if (typeof header !== 'string' || header.length > 512) return undefined;
  const m = TRACEPARENT_RE.exec(header.trim());
  if (m === null) return undefined;
  const [, version = '', traceId = '', spanId = '', flags = '', rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, flags };
}

export function formatTraceparent(c: TraceContext): string {
  return `00-${c.traceId}-${c.spanId}-${c.flags}`;
}

// Ids come from a pool of random bytes filled 4 KiB at a time, each byte used once: two
// `randomBytes` calls per request (a trace and its span) were 3 % of a read's CPU.
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;
function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    used = 0;
  }
  const hex = pool.toString('hex', used, used + bytes);
  used += bytes;
  return hex;
}

export const newSpanId = (): string => randomHex(8);

/** A new trace (sampled), for work that arrives without one. */
export function newTrace(): TraceContext {
  return { traceId: randomHex(16), spanId: newSpanId(), flags: '01' };
}

/** A child span of `parent`'s trace: same trace id and flags, a new span id. */
export function childOf(parent: TraceContext): TraceContext {
  return { traceId: parent.traceId, spanId: newSpanId(), flags: parent.flags };
}

/** What kind of work a span is (OpenTelemetry's span kinds, those this service uses). */
export type SpanKindName = 'server' | 'client' | 'consumer' | 'internal';

/** Span attributes: masked before they are recorded (never a secret, phone number, signature or body). */
export type SpanAttributes = Readonly<Record<string, string | number | boolean>>;

/** A span that has started: its context is the one put in logs, `traceparent` headers and job rows. */
export interface RecordedSpan {
  readonly context: TraceContext;
  setName(name: string): void;
  setAttributes(attributes: SpanAttributes): void;
  /** Mark the span failed (its message masked by the recorder); it still has to be ended. */
  fail(failure: SpanFailure): void;
  end(): void;
}

export interface SpanFailure {
  /** An error's class name or a stable code. */
  readonly type: string;
  readonly message: string;
}

/**
 * Where spans go. Only this decides span ids once a trace exists, so the ids in logs, headers
 * and job rows are the exported spans' own ids.
 */
export interface SpanRecorder {
  /** Whether spans leave the process (an OpenTelemetry exporter); false for W3C ids only. */
  readonly exporting: boolean;
  /** A span of `parent`'s trace (a new trace without one). */
  start(name: string, kind: SpanKindName, parent: TraceContext | undefined, attributes?: SpanAttributes): RecordedSpan;
}

const noop = (): void => undefined;

/**
 * W3C trace context only, nothing exported: a request, job or outgoing call gets a span id of its
 * own (the header it sends must name one); internal work (a unit of work) keeps its parent's, as
 * a span nobody records would only change the ids in the logs.
 */
export const w3cRecorder: SpanRecorder = {
  exporting: false,
  start(_name, kind, parent) {
    const context = parent === undefined ? newTrace() : kind === 'internal' ? parent : childOf(parent);
    return { context, setName: noop, setAttributes: noop, fail: noop, end: noop };
  },
};

/** What runs now: its trace position, the recorder its spans go to, and whether it is an outgoing call. */
interface ActiveTrace extends TraceContext {
  readonly recorder?: SpanRecorder;
  /** Set inside a client span (a call to a gateway, channel or merchant): its transport sends this span's context. */
  readonly client?: RecordedSpan;
}

/** The trace of the work now running, carried across awaits (one store for the process: it is per async context). */
const storage = new AsyncLocalStorage<ActiveTrace>();

export const currentTrace = (): TraceContext | undefined => storage.getStore();

/** Run `fn` (and everything it awaits or schedules) inside `trace`, its spans going to `recorder`. */
export function runInTrace<T>(trace: TraceContext, fn: () => T, recorder?: SpanRecorder): T {
  return storage.run(recorder === undefined ? trace : { ...trace, recorder }, fn);
}

/** The failure a span ends with: the error's class (or stable code) and message, masked by the recorder. */
export function failureOf(e: unknown): SpanFailure {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return { type: typeof code === 'string' ? code : e.name, message: e.message };
  }
  return { type: 'error', message: String(e) };
}

/**
 * Run `work` as a new span of the current trace (a new trace outside any), ended when it settles:
 * its logs, jobs and outgoing calls name the span. `parent` overrides the current trace (a job
 * continues the trace stored with it).
 */
export async function inSpan<T>(
  name: string,
  kind: SpanKindName,
  attributes: SpanAttributes,
  work: (span: RecordedSpan) => Promise<T>,
  options: { readonly parent?: TraceContext | null; readonly recorder?: SpanRecorder } = {},
): Promise<T> {
  const current = storage.getStore();
  const recorder = options.recorder ?? current?.recorder ?? w3cRecorder;
  const parent = options.parent === undefined ? current : (options.parent ?? undefined);
  const span = recorder.start(name, kind, parent, attributes);
  const active: ActiveTrace = { ...span.context, recorder, ...(kind === 'client' ? { client: span } : {}) };
  let value: T;
  try {
    value = await storage.run(active, () => work(span));
  } catch (e) {
    span.fail(failureOf(e));
    span.end();
    throw e;
  }
  span.end();
  return value;
}

/**
 * An outgoing call (gateway, recharge channel, merchant, webhook): `call` gets the `traceparent`
 * header naming the call's client span — the enclosing one when the call is part of a port's
 * client span (a gateway's, a channel's), else a span of its own. Outside any trace: no header,
 * no span.
 */
export function clientCall<T>(
  name: string,
  attributes: SpanAttributes,
  call: (headers: Record<string, string>, span: RecordedSpan | undefined) => Promise<T>,
): Promise<T> {
  const current = storage.getStore();
  if (current === undefined) return call({}, undefined);
  if (current.client !== undefined) {
    current.client.setAttributes(attributes);
    return call({ traceparent: formatTraceparent(current) }, current.client);
  }
  return inSpan(name, 'client', attributes, (span) => call({ traceparent: formatTraceparent(span.context) }, span));
}

/**
 * The headers to add to an outgoing call made inside a port's client span (Alipay, WeChat Pay,
 * a recharge aggregator): `traceparent` naming that span. Elsewhere in a trace, a new span id
 * (recorded by nobody); outside any trace, none.
 */
export function traceHeaders(): Record<string, string> {
  const current = storage.getStore();
  if (current === undefined) return {};
  return { traceparent: formatTraceparent(current.client === undefined ? childOf(current) : current) };
}

/** The current trace as a `traceparent` header (the span that runs now), for storing with a job. */
export function currentTraceparent(): string | null {
  const current = storage.getStore();
  return current === undefined ? null : formatTraceparent(current);
}
