import type { LookupFunction } from 'node:net';
import { Pool, errors as undiciErrors } from 'undici';
import { GatewayRateLimitedError, GatewayUnknownOutcomeError } from '../../ports/payment-gateway.js';
import { parseRateLimitReset, parseRemaining, parseRetryAfter } from './rate-limit-headers.js';
import { clientCall } from '../tracing/trace-context.js';

export interface HttpClientOptions {
  /** Origin (and optional path prefix) every request path is relative to, e.g. http://127.0.0.1:9000 */
  readonly baseUrl: string;
  /** Whole-call deadline in ms (connect + send + answer): past it the outcome is unknown. */
  readonly timeoutMs: number;
  /** Kept-alive connections to the origin at most (default 16). */
  readonly connections?: number;
  /** How long an idle connection is kept for reuse, in ms (default 30 s; the server's own limit wins when shorter). */
  readonly keepAliveTimeoutMs?: number;
  /** Largest answer accepted, in bytes (default 1 MiB): a bigger one is a transport failure. */
  readonly maxResponseBytes?: number;
  /** Injected clock for Retry-After dates and rate-limit windows. */
  readonly now?: () => number;
  /**
   * Return every answer as it came (429 and 5xx too), without rate-limit bookkeeping: for callers
   * that log the status code themselves (webhook deliveries), not for the payment connectors.
   */
  readonly rawStatus?: boolean;
  /**
   * Resolves the origin's host name for each new connection (default: the system's). The
   * address it gives is the one connected to, so a check made here cannot be raced by DNS.
   */
  readonly lookup?: LookupFunction;
}

export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query, starting with "/". */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Overrides the client's deadline for this call. */
  readonly timeoutMs?: number;
}

export interface HttpResponse {
  readonly status: number;
  /** Header names lower-case; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What the server last said about our rate budget, so a caller can slow down before a 429. */
export interface RateLimitState {
  /** Calls left in the current window (`X-RateLimit-Remaining`), when the server says. */
  readonly remaining: number | undefined;
  /** When the window resets (ms since epoch), when the server says. */
  readonly resetAt: number | undefined;
}

/** undici error codes that mean "the request could not be built": a bug, not a network event. */
const PROGRAMMING_ERRORS = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_INVALID_RETURN_VALUE']);

/**
 * A kept-alive HTTP/1.1 client for one origin, shared by the connectors. It turns what the
 * network does into the payment port's vocabulary, in one place:
 * - a timeout, a reset, a refused or broken connection, an oversized answer, or a 5xx
 *   → {@link GatewayUnknownOutcomeError} (the request may or may not have taken effect: query);
 * - a 429 → {@link GatewayRateLimitedError} with `Retry-After` (seconds or an HTTP date, falling
 *   back to `X-RateLimit-Reset`) in ms: nothing was done;
 * - `X-RateLimit-Remaining: 0` with a known reset time → the next calls fail fast with
 *   {@link GatewayRateLimitedError} until the window resets, without being sent.
 * Everything else (2xx, 3xx, 4xx) is returned for the connector to interpret.
 */
export class HttpClient {
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly peer: Readonly<Record<string, string | number>>;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly rawStatus: boolean;
  private remaining: number | undefined;
  private resetAt: number | undefined;

  constructor(options: HttpClientOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error(`HttpClient: unsupported protocol ${url.protocol}`);
    this.prefix = url.pathname.replace(/\/+$/, '');
    // Where the calls go, for their spans: the origin only (a path or query may carry ids or keys).
    this.peer = {
      'server.address': url.hostname,
      'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      'url.scheme': url.protocol.slice(0, -1),
    };
    this.timeoutMs = options.timeoutMs;
    this.now = options.now ?? Date.now;
    this.rawStatus = options.rawStatus ?? false;
    const keepAlive = options.keepAliveTimeoutMs ?? 30_000;
    this.pool = new Pool(url.origin, {
      connections: options.connections ?? 16,
      keepAliveTimeout: keepAlive,
      keepAliveMaxTimeout: Math.max(keepAlive, 30_000),
      connectTimeout: options.timeoutMs,
      maxResponseSize: options.maxResponseBytes ?? 1024 * 1024,
      ...(options.lookup === undefined ? {} : { connect: { lookup: options.lookup } }),
    });
  }

  /** The server's last word on our rate budget. */
  get rateLimit(): RateLimitState {
    return { remaining: this.remaining, resetAt: this.resetAt };
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const now = this.now();
    if (this.remaining === 0 && this.resetAt !== undefined && this.resetAt > now) {
      throw new GatewayRateLimitedError(
        `rate limit exhausted (X-RateLimit-Remaining: 0): not sent`,
        this.resetAt - now,
      );
    }
    const timeoutMs = req.timeoutMs ?? this.timeoutMs;
    let status: number;
    let headers: Record<string, string>;
    let body: string;
    try {
      // The trace this call is part of (the request's or job's), as the call's own client span.
      ({ status, headers, body } = await clientCall(
        req.method,
        { ...this.peer, 'http.request.method': req.method },
        async (trace, span) => {
          const res = await this.pool.request({
            method: req.method,
            path: `${this.prefix}${req.path}`,
            headers: { ...trace, ...req.headers },
            ...(req.body === undefined ? {} : { body: req.body }),
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
            signal: AbortSignal.timeout(timeoutMs),
          });
          span?.setAttributes({
            'http.response.status_code': res.statusCode,
            ...(res.statusCode >= 400 ? { 'error.type': String(res.statusCode) } : {}),
          });
          return { status: res.statusCode, headers: flattenHeaders(res.headers), body: await res.body.text() };
        },
      ));
    } catch (e) {
      if (e instanceof undiciErrors.UndiciError && PROGRAMMING_ERRORS.has(e.code)) throw e;
      throw new GatewayUnknownOutcomeError(`${req.method} ${req.path}: ${describeTransportError(e, timeoutMs)}`, {
        cause: e,
      });
    }
    if (this.rawStatus) return { status, headers, body };
    this.noteRateLimit(headers);
    if (status === 429) {
      const at = this.now();
      const retryAfterMs =
        parseRetryAfter(headers['retry-after'], at) ?? parseRateLimitReset(headers['x-ratelimit-reset'], at);
      throw new GatewayRateLimitedError(`${req.method} ${req.path}: 429 too many requests`, retryAfterMs);
    }
    if (status >= 500) throw new GatewayUnknownOutcomeError(`${req.method} ${req.path}: ${status} from the server`);
    return { status, headers, body };
  }

  private noteRateLimit(headers: Readonly<Record<string, string>>): void {
    const remaining = parseRemaining(headers['x-ratelimit-remaining']);
    if (remaining === undefined) return;
    const at = this.now();
    const resetMs =
      parseRateLimitReset(headers['x-ratelimit-reset'], at) ?? parseRetryAfter(headers['retry-after'], at);
    this.remaining = remaining;
    this.resetAt = resetMs === undefined ? undefined : at + resetMs;
  }

  /** Close the kept-alive connections (waits for calls in flight). */
  async close(): Promise<void> {
    await this.pool.close();
  }
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function describeTransportError(e: unknown, timeoutMs: number): string {
  if (e instanceof DOMException && (e.name === 'TimeoutError' || e.name === 'AbortError'))
    return `no answer within ${timeoutMs} ms`;
  if (e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError)
    return `no answer within ${timeoutMs} ms`;
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} ${e.message}` : e.message;
  }
  return String(e);
}
