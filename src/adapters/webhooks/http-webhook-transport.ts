import { lookup as systemLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { maskText } from '../../domain/mask.js';
import { privateHost } from '../../domain/webhooks.js';
import type { WebhookAttemptResult, WebhookTransport } from '../../ports/webhooks.js';
import { HttpClient } from '../http/http-client.js';
import { newWebhookSecret, signedHeaders } from './standard-webhooks.js';

export interface HttpWebhookTransportOptions {
  /** Whole-attempt deadline (connect + answer); past it the attempt failed with no status. */
  readonly timeoutMs: number;
  /** Kept-alive pools kept at once (one per endpoint origin); the least recently used is closed. */
  readonly maxOrigins?: number;
  /** Injected clock (Retry-After dates). */
  readonly now: () => number;
  /**
   * `webhooks.allow_private_addresses`: false refuses to connect to a loopback, private,
   * link-local or metadata address, whether the URL names it or a host name resolves to it.
   */
  readonly allowPrivateAddresses: boolean;
  /** Host-name resolution (default: the system's, as `dns.lookup`); tests inject their own. */
  readonly lookup?: LookupFunction;
}

/** The error a connection gets when its host name resolves inward. */
const INWARD = 'EADDRINWARD';
const ALLOW_KEY = '(see webhooks.allow_private_addresses)';

/**
 * `lookup` that fails when any address a name resolves to is loopback, private, link-local or
 * metadata: checked at connect time on the address actually connected to, so a name that
 * passed when the subscription was made and later points inward (DNS rebinding) is refused.
 */
export function outwardOnly(lookup: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, options, (err, address, family) => {
      if (err !== null) return callback(err, address, family);
      const all = Array.isArray(address) ? address : [{ address, family }];
      const inward = all.find((a) => privateHost(a.address));
      if (inward === undefined) return callback(null, address, family);
      const refused = Object.assign(
        new Error(
          `${hostname} resolves to ${inward.address}, a loopback, private, link-local or metadata address ${ALLOW_KEY}`,
        ),
        { code: INWARD },
      );
      return callback(refused, address, family);
    });
  };
}

/** Latency is a measurement of real I/O, not a decision: the monotonic clock, not the injected one. */
const monotonic = (): number => performance.now();

/**
 * Signed POSTs (Standard Webhooks) through the project's kept-alive HTTP client, one pool per
 * endpoint origin. A 2xx is a success; anything else — a 3xx (redirects are never followed: an
 * endpoint that moved is told by its status), 4xx, 5xx, a timeout — is a failed attempt with
 * its status code, latency and a short, masked error. Never throws for what the endpoint does.
 */
export class HttpWebhookTransport implements WebhookTransport {
  private readonly clients = new Map<string, HttpClient>();

  constructor(private readonly options: HttpWebhookTransportOptions) {}

  newSecret(): string {
    return newWebhookSecret();
  }

  async send(req: {
    readonly url: string;
    readonly eventId: string;
    readonly at: number;
    readonly body: string;
    readonly secret: string;
  }): Promise<WebhookAttemptResult> {
    const started = monotonic();
    const elapsed = (): number => Math.round(Math.max(0, monotonic() - started));
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return { statusCode: null, latencyMs: 0, error: 'invalid url' };
    }
    // An address literal is connected to without a lookup: checked here (the subscription may
    // predate a change of webhooks.allow_private_addresses).
    if (!this.options.allowPrivateAddresses && privateHost(url.hostname)) {
      return {
        statusCode: null,
        latencyMs: 0,
        error: `${url.hostname} is a loopback, private, link-local or metadata address ${ALLOW_KEY}`,
      };
    }
    try {
      const res = await this.client(url.origin).request({
        method: 'POST',
        path: `${url.pathname}${url.search}`,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Open-AutoGLM-Webhooks/1.0',
          ...signedHeaders(req.secret, req.eventId, req.at, req.body),
        },
        body: req.body,
      });
      const okStatus = res.status >= 200 && res.status < 300;
      return {
        statusCode: res.status,
        latencyMs: elapsed(),
        error: okStatus ? null : `HTTP ${res.status}${res.body === '' ? '' : `: ${maskText(res.body.slice(0, 200))}`}`,
      };
    } catch (e) {
      // The client's message names the request path: without its query string, which may hold a token.
      const said = (e instanceof Error ? e.message : String(e))
        .split(`${url.pathname}${url.search}`)
        .join(url.pathname);
      return { statusCode: null, latencyMs: elapsed(), error: maskText(said.slice(0, 300)) };
    }
  }

  private client(origin: string): HttpClient {
    let c = this.clients.get(origin);
    if (c !== undefined) {
      // Most recently used last.
      this.clients.delete(origin);
      this.clients.set(origin, c);
      return c;
    }
    c = new HttpClient({
      baseUrl: origin,
      timeoutMs: this.options.timeoutMs,
      connections: 4,
      rawStatus: true,
      now: this.options.now,
      lookup: this.options.allowPrivateAddresses
        ? (this.options.lookup ?? systemLookup)
        : outwardOnly(this.options.lookup ?? systemLookup),
    });
    this.clients.set(origin, c);
    const max = this.options.maxOrigins ?? 256;
    while (this.clients.size > max) {
      const [oldest, client] = this.clients.entries().next().value as [string, HttpClient];
      this.clients.delete(oldest);
      void client.close().catch(() => undefined);
    }
    return c;
  }

  /** Close every kept-alive pool (shutdown). */
  async shutdown(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.close().catch(() => undefined)));
  }
}
