import { createHmac, timingSafeEqual } from 'node:crypto';
import type {
  CreatePaymentRequest,
  GatewayNotification,
  GatewayPaymentResult,
  GatewayRefundResult,
  NotificationAck,
  NotificationVerdict,
  PaymentGateway,
  RawNotification,
  RefundRequest,
} from '../../../ports/payment-gateway.js';
import type { StatementFile } from '../../../domain/statements/statement-line.js';
import type { RateLimitState } from '../../http/http-client.js';
import { type NativeAnswer, NativeClient } from './native-client.js';
import { errorCode, notificationBody, toPaymentResult, toRefundResult } from './native-mapping.js';

export interface SimulatorHttpGatewayOptions {
  /** The configured name (a key of `gateways`). */
  readonly name: string;
  /** The simulator's base URL, e.g. http://127.0.0.1:9100 */
  readonly baseUrl: string;
  /** Shared secret for request signing and answer checks. */
  readonly secret: string;
  /** Secret the simulator signs its callbacks with (default: `secret`). */
  readonly notifySecret?: string;
  readonly timeoutMs: number;
  readonly methods?: readonly string[];
  readonly connections?: number;
  readonly now?: () => number;
  readonly nonce?: () => string;
}

const PATH = '/native/v1';

/**
 * A 4xx with the protocol's error code is a definite refusal (nothing was done). Without a code
 * the answer did not come from the protocol (a wrong base URL, a proxy): that is a
 * misconfiguration, not a declined payment.
 */
function refusalCode(a: NativeAnswer, what: string): string {
  const code = errorCode(a);
  if (a.status >= 400 && a.status < 500 && code !== undefined) return code;
  throw new Error(`simulator-http: ${what} answered ${a.status} without a protocol error code`);
}
const seg = encodeURIComponent;

/**
 * The simulator's native JSON protocol as a PaymentGateway, over kept-alive HTTP. Timeouts,
 * resets, 5xx and unverifiable answers throw GatewayUnknownOutcomeError; 429 throws
 * GatewayRateLimitedError; a refusal with a code (4xx) is a `failed` result.
 */
export class SimulatorHttpGateway implements PaymentGateway {
  readonly name: string;
  readonly methods: readonly string[];
  private readonly client: NativeClient;
  private readonly notifySecret: string;

  constructor(options: SimulatorHttpGatewayOptions) {
    this.name = options.name;
    this.methods = options.methods ?? ['wallet', 'alipay_qr', 'wechat_native'];
    this.notifySecret = options.notifySecret ?? options.secret;
    this.client = new NativeClient(options);
  }

  /** What the simulator last said about our rate budget (X-RateLimit-*), to slow down before a 429. */
  get rateLimit(): RateLimitState {
    return this.client.rateLimit;
  }

  async create(req: CreatePaymentRequest): Promise<GatewayPaymentResult> {
    const a = await this.client.call('POST', `${PATH}/payments`, {
      out_trade_no: req.outTradeNo,
      amount: req.amount.amount,
      currency: req.amount.currency,
      subject: req.subject,
      method: req.method,
      payer: req.payer,
      ...(req.notifyUrl === undefined ? {} : { notify_url: req.notifyUrl }),
    });
    if (a.status === 200) return toPaymentResult(a, req.outTradeNo);
    return { status: 'failed', outTradeNo: req.outTradeNo, failureCode: refusalCode(a, 'POST payments') };
  }

  async query(outTradeNo: string): Promise<GatewayPaymentResult> {
    return this.paymentCall('GET', `${PATH}/payments/${seg(outTradeNo)}`, outTradeNo);
  }

  async close(outTradeNo: string): Promise<GatewayPaymentResult> {
    return this.paymentCall('POST', `${PATH}/payments/${seg(outTradeNo)}/close`, outTradeNo);
  }

  private async paymentCall(method: 'GET' | 'POST', path: string, outTradeNo: string): Promise<GatewayPaymentResult> {
    const a = await this.client.call(method, path, method === 'POST' ? {} : undefined);
    if (a.status === 200) return toPaymentResult(a, outTradeNo);
    if (a.status === 404 && errorCode(a) === 'TRADE_NOT_FOUND') return { status: 'not_found', outTradeNo };
    throw new Error(`simulator-http: ${method} ${path} answered ${a.status} ${errorCode(a) ?? ''}`);
  }

  /** The day's trade bill of the simulator's order book (its own layout, Alipay's by default), over the signed API. */
  async statement(date: string): Promise<StatementFile> {
    const a = await this.client.call('GET', `${PATH}/statements/${seg(date)}`);
    const format = a.json.format;
    const content = a.json.content_base64;
    if (a.status !== 200 || typeof content !== 'string' || (format !== 'alipay' && format !== 'wechatpay'))
      throw new Error(`simulator-http: statement ${date} answered ${a.status} ${errorCode(a) ?? ''}`);
    return {
      format,
      name: `${this.name}-${date}.${format === 'alipay' ? 'zip' : 'csv'}`,
      bytes: Buffer.from(content, 'base64'),
    };
  }

  async refund(req: RefundRequest): Promise<GatewayRefundResult> {
    const a = await this.client.call('POST', `${PATH}/refunds`, {
      out_trade_no: req.outTradeNo,
      out_refund_no: req.outRefundNo,
      amount: req.amount.amount,
      currency: req.amount.currency,
      reason: req.reason,
      ...(req.notifyUrl === undefined ? {} : { notify_url: req.notifyUrl }),
    });
    if (a.status === 200) return toRefundResult(a, req.outRefundNo);
    return { status: 'failed', outRefundNo: req.outRefundNo, failureCode: refusalCode(a, 'POST refunds') };
  }

  async queryRefund(outTradeNo: string, outRefundNo: string): Promise<GatewayRefundResult> {
    const path = `${PATH}/payments/${seg(outTradeNo)}/refunds/${seg(outRefundNo)}`;
    const a = await this.client.call('GET', path);
    if (a.status === 200) return toRefundResult(a, outRefundNo);
    if (a.status === 404 && errorCode(a) === 'REFUND_NOT_FOUND') return { status: 'not_found', outRefundNo };
    throw new Error(`simulator-http: GET ${path} answered ${a.status} ${errorCode(a) ?? ''}`);
  }

  /**
   * The simulator's callback: `x-sim-timestamp`, `x-sim-nonce`, `x-sim-signature` = base64
   * HMAC-SHA256 over `timestamp\nnonce\nbody\n` with the notify secret.
   */
  verifyNotification(input: RawNotification): Promise<NotificationVerdict> {
    return Promise.resolve(this.verify(input));
  }

  private verify(input: RawNotification): NotificationVerdict {
    const { 'x-sim-timestamp': ts, 'x-sim-nonce': nonce, 'x-sim-signature': signature } = input.headers;
    if (
      ts === undefined ||
      nonce === undefined ||
      signature === undefined ||
      !/^\d{1,12}$/.test(ts) ||
      !/^[\x21-\x7e]{1,64}$/.test(nonce)
    ) {
      return {
        ok: false,
        code: 'MALFORMED_NOTIFICATION',
        message: 'x-sim-timestamp, x-sim-nonce and x-sim-signature are required',
      };
    }
    const expected = createHmac('sha256', this.notifySecret).update(`${ts}\n${nonce}\n${input.body}\n`).digest();
    const given = Buffer.from(signature, 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { ok: false, code: 'SIGNATURE_INVALID', message: 'the notification signature does not verify' };
    let json: unknown;
    try {
      json = JSON.parse(input.body);
    } catch {
      return { ok: false, code: 'MALFORMED_NOTIFICATION', message: 'the body is not JSON' };
    }
    const p = notificationBody.safeParse(json);
    if (!p.success)
      return {
        ok: false,
        code: 'MALFORMED_NOTIFICATION',
        message: p.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; '),
      };
    const b = p.data;
    const common = {
      eventId: b.id,
      outTradeNo: b.out_trade_no,
      amount: { amount: b.amount, currency: b.currency },
      timestamp: Number(ts) * 1000,
      nonce,
    };
    const failure = b.failure_code === undefined ? {} : { failureCode: b.failure_code };
    let n: GatewayNotification;
    if (b.type === 'payment') {
      n = {
        kind: 'payment',
        ...common,
        status: b.status,
        ...(b.trade_no === undefined ? {} : { gatewayTradeNo: b.trade_no }),
        ...failure,
      };
    } else {
      if (b.out_refund_no === undefined || b.status === 'closed')
        return {
          ok: false,
          code: 'MALFORMED_NOTIFICATION',
          message: 'a refund needs out_refund_no and a refund status',
        };
      n = {
        kind: 'refund',
        ...common,
        outRefundNo: b.out_refund_no,
        status: b.status,
        ...(b.refund_no === undefined ? {} : { gatewayRefundNo: b.refund_no }),
        ...failure,
      };
    }
    return { ok: true, notification: n };
  }

  acknowledge(accepted: boolean): NotificationAck {
    return accepted
      ? { status: 200, contentType: 'application/json', body: '{"code":"SUCCESS"}' }
      : { status: 400, contentType: 'application/json', body: '{"code":"FAIL"}' };
  }

  /** Close the kept-alive connections. */
  async shutdown(): Promise<void> {
    await this.client.close();
  }
}
