import http from 'node:http';
import https from 'node:https';
import iconv from 'iconv-lite';
import { RechargeUnknownOutcomeError } from '../../ports/recharge-channel.js';
import { traceHeaders } from '../tracing/trace-context.js';

export interface TextResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The body decoded with the charset the response declares, else the caller's fallback. */
  readonly text: string;
}

/** Channels answer a few hundred bytes; anything this large is not an answer we can trust. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** RFC 3986 percent-encoding of a value's bytes in `encoding` (Juhe's GBK operators). */
export function encodeQuery(params: Readonly<Record<string, string>>, encoding: string): string {
  return Object.entries(params)
    .map(([k, v]) => `${percent(k, encoding)}=${percent(v, encoding)}`)
    .join('&');
}

function percent(value: string, encoding: string): string {
  let out = '';
  for (const byte of iconv.encode(value, encoding)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function charsetOf(contentType: string | undefined): string | undefined {
  const m = /charset\s*=\s*"?([A-Za-z0-9_-]+)"?/i.exec(contentType ?? '');
  return m?.[1]?.toLowerCase();
}

/**
 * GET over kept-alive connections (node's own Agent: pool size is set here, no extra
 * dependency). A call that does not finish within `timeoutMs`, or whose connection fails,
 * throws `RechargeUnknownOutcomeError`: the request may have been acted on.
 */
export class KeepAliveHttp {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(maxSockets = 32) {
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets });
  }

  get(url: URL, timeoutMs: number, fallbackEncoding: string): Promise<TextResponse> {
    const client = url.protocol === 'https:' ? https : http;
    const agent = url.protocol === 'https:' ? this.httpsAgent : this.httpAgent;
    return new Promise<TextResponse>((resolve, reject) => {
      let settled = false;
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(new RechargeUnknownOutcomeError(`${url.host}${url.pathname}: ${why}`));
      };
      const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
      const req = client.get(
        url,
        {
          agent,
          headers: {
            accept: 'application/json',
            'accept-charset': `${fallbackEncoding}, utf-8;q=0.5`,
            ...traceHeaders(),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY_BYTES) fail(`answer larger than ${MAX_BODY_BYTES} bytes`);
            else chunks.push(c);
          });
          res.on('error', (e) => fail(e.message));
          res.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            const charset = charsetOf(res.headers['content-type']) ?? fallbackEncoding;
            const body = Buffer.concat(chunks);
            const text = iconv.encodingExists(charset) ? iconv.decode(body, charset) : body.toString('utf8');
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
          });
        },
      );
      req.on('error', (e) => fail(e.message));
    });
  }

  /** Close idle kept-alive sockets (at shutdown). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
