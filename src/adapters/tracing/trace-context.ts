import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

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

export const newSpanId = (): string => randomBytes(8).toString('hex');

/** A new trace (sampled), for work that arrives without one. */
export function newTrace(): TraceContext {
  return { traceId: randomBytes(16).toString('hex'), spanId: newSpanId(), flags: '01' };
}

/** A child span of `parent`'s trace: same trace id and flags, a new span id. */
export function childOf(parent: TraceContext): TraceContext {
  return { traceId: parent.traceId, spanId: newSpanId(), flags: parent.flags };
}

/** The trace of the work now running, carried across awaits (one store for the process: it is per async context). */
const storage = new AsyncLocalStorage<TraceContext>();

export const currentTrace = (): TraceContext | undefined => storage.getStore();

/** Run `fn` (and everything it awaits or schedules) inside `trace`. */
export function runInTrace<T>(trace: TraceContext, fn: () => T): T {
  return storage.run(trace, fn);
}

/**
 * The `traceparent` header for an outgoing call (gateway, recharge channel, merchant, webhook):
 * the current trace with the call as a new span, or undefined outside any trace.
 */
export function outgoingTraceparent(): string | undefined {
  const current = storage.getStore();
  return current === undefined ? undefined : formatTraceparent(childOf(current));
}

/** The headers to add to an outgoing call: `traceparent` when some trace is current, else none. */
export function traceHeaders(): Record<string, string> {
  const header = outgoingTraceparent();
  return header === undefined ? {} : { traceparent: header };
}

/** The current trace as a `traceparent` header (the span that runs now), for storing with a job. */
export function currentTraceparent(): string | null {
  const current = storage.getStore();
  return current === undefined ? null : formatTraceparent(current);
}
