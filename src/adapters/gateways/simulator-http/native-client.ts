import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { GatewayUnknownOutcomeError } from '../../../ports/payment-gateway.js';
import { HttpClient, type RateLimitState } from '../../http/http-client.js';

export interface NativeClientOptions {
  readonly baseUrl: string;
  /** The shared secret requests are signed with and answers are checked against. */
  readonly secret: string;
  readonly timeoutMs: number;
  readonly connections?: number;
  readonly now?: () => number;
  readonly nonce?: () => string;
}

/** An answer whose signature checked out. */
export interface NativeAnswer {
  readonly status: number;
  /** The parsed JSON object (empty when the body was not a JSON object). */
  readonly json: Readonly<Record<string, unknown>>;
}

/** Thrown for an answer that says our request was not accepted at all (bad credentials, clock skew). */
export class NativeAuthError extends Error {
  override readonly name = 'NativeAuthError';
}

/**
 * The signed transport of the simulator's native protocol, written from its description and not
 * from the simulator's code: `Authorization: SIM-HMAC-SHA256 timestamp="…",nonce="…",signature="…"`
 * with base64 HMAC-SHA256 over `METHOD\npath?query\ntimestamp\nnonce\nbody\n`; every answer is
 * signed back over `status\ntimestamp\nour nonce\nbody\n` in `x-sim-timestamp`/`x-sim-signature`.
 * An answer that does not verify is not believed: the outcome is unknown.
 */
export class NativeClient {
  private readonly http: HttpClient;
  private readonly secret: string;
  private readonly now: () => number;
  private readonly nonce: () => string;

  constructor(options: NativeClientOptions) {
    if (options.secret.length === 0) throw new Error('simulator-http: an empty secret cannot sign requests');
    this.secret = options.secret;
    this.now = options.now ?? Date.now;
    this.nonce = options.nonce ?? (() => randomUUID().replaceAll('-', ''));
    this.http = new HttpClient({
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs,
      ...(options.connections === undefined ? {} : { connections: options.connections }),
      now: this.now,
    });
  }

  get rateLimit(): RateLimitState {
    return this.http.rateLimit;
  }

  async call(method: 'GET' | 'POST', path: string, body?: Readonly<Record<string, unknown>>): Promise<NativeAnswer> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const ts = String(Math.floor(this.now() / 1000));
    const nonce = this.nonce();
    const signature = this.mac(`${method}\n${path}\n${ts}\n${nonce}\n${text}\n`).toString('base64');
    const res = await this.http.request({
      method,
      path,
      headers: {
        authorization: `SIM-HMAC-SHA256 timestamp="${ts}",nonce="${nonce}",signature="${signature}"`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: text }),
    });
    const given = res.headers['x-sim-signature'];
    const answerTs = res.headers['x-sim-timestamp'];
    if (
      given === undefined ||
      answerTs === undefined ||
      !this.same(this.mac(`${res.status}\n${answerTs}\n${nonce}\n${res.body}\n`), given)
    ) {
      throw new GatewayUnknownOutcomeError(`${method} ${path}: ${res.status} answer without a valid signature`);
    }
    const json = parseObject(res.body);
    if (res.status === 401)
      throw new NativeAuthError(
        `${method} ${path}: refused ${typeof json.code === 'string' ? json.code : ''} (check the secret and the clock)`,
      );
    return { status: res.status, json };
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private mac(text: string): Buffer {
    return createHmac('sha256', this.secret).update(text).digest();
  }

  private same(expected: Buffer, givenB64: string): boolean {
    const given = Buffer.from(givenB64, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
