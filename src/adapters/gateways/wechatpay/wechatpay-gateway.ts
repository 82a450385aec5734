import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { StatementInvalidError } from '../../../domain/statements/statement-invalid-error.js';
import type { StatementFile } from '../../../domain/statements/statement-line.js';
import type { KeyObject } from 'node:crypto';
import type { Money } from '../../../domain/money.js';
import {
  type CreatePaymentRequest,
  type GatewayNotification,
  type GatewayPaymentResult,
  type GatewayRefundResult,
  GatewayRateLimitedError,
  GatewayUnknownOutcomeError,
  type NotificationAck,
  type NotificationVerdict,
  type PaymentGateway,
  type RawNotification,
  type RefundRequest,
} from '../../../ports/payment-gateway.js';
import {
  eventKindOf,
  fromWechatAmount,
  isRefundStatus,
  isTradeState,
  NOT_FOUND_CODES,
  ORDER_EXISTS_CODES,
  paymentStatusOf,
  refundStatusOf,
  successTimeOf,
  toWechatAmount,
} from './wechatpay-mapping.js';
import { authorization, decryptResource, verifyPlatformSignature } from './wechatpay-signing.js';
import { traceHeaders } from '../../tracing/trace-context.js';

export const WECHATPAY_DEFAULT_BASE_URL = 'https://api.mch.weixin.qq.com';

export interface WechatpayGatewayOptions {
  /** The configured name (a key of `gateways`). */
  readonly name: string;
  readonly mchid: string;
  readonly appid: string;
  /** Serial number of our merchant API certificate (sent as serial_no). */
  readonly merchantSerialNo: string;
  readonly merchantPrivateKey: KeyObject;
  /** The API v3 key: exactly 32 bytes, decrypts callback resources. */
  readonly apiV3Key: Buffer;
  /** Platform public keys by serial (certificate serial or PUB_KEY_ID_…); several during a rotation. */
  readonly platformKeys: ReadonlyMap<string, KeyObject>;
  /** Where callbacks go when a request does not name its own. WeChat requires one on every order. */
  readonly notifyUrl: string;
  readonly baseUrl?: string;
  readonly timeoutMs?: number;
  /** Seconds since the epoch, for the Authorization timestamp (injected for tests). */
  readonly nowSec?: () => number;
  readonly nonce?: () => string;
  readonly fetch?: typeof fetch;
}

/**
 * A rejection we cannot express as a payment outcome: a query or close answered 4xx with a code
 * that is not "no such order". Nothing to retry blindly — it needs a person (bad config, bad id).
 */
export class WechatpayRequestRejectedError extends Error {
  override readonly name = 'WechatpayRequestRejectedError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`WeChat Pay ${status} ${code}: ${message}`);
  }
}

/**
 * A response whose platform signature did not verify (or named an unknown serial). Its content
 * is not trusted, so what happened is unknown: resolve by query, as for a timeout.
 */
export class WechatpayResponseSignatureError extends GatewayUnknownOutcomeError {
  constructor(
    readonly code: 'SIGNATURE_INVALID' | 'UNKNOWN_CERTIFICATE' | 'MALFORMED',
    message: string,
  ) {
    super(`WeChat Pay response refused (${code}): ${message}`);
  }
}

interface ApiResponse {
  readonly status: number;
  readonly json: Record<string, unknown> | undefined;
}

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (o: Json, k: string): string | undefined =>
  typeof o[k] === 'string' && o[k].length > 0 ? o[k] : undefined;
const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function defaultNonce(): string {
  return [...randomBytes(32)].map((b) => NONCE_ALPHABET[b % NONCE_ALPHABET.length]).join('');
}

/** WeChat limits description to 127 characters and reason to 80. */
const clip = (s: string, max: number): string => [...s].slice(0, max).join('');

/**
 * The WeChat Pay API v3 connector (Native QR payments, direct merchant). Every request is signed
 * with our merchant key; every response that answers is verified with the platform key its serial
 * names before its content is believed; callbacks are verified, then decrypted with the API v3 key.
 * Timeouts, resets and 5xx throw {@link GatewayUnknownOutcomeError}; 429 throws
 * {@link GatewayRateLimitedError}; a business refusal is a `failed` result with WeChat's code.
 */
export class WechatpayGateway implements PaymentGateway {
  readonly name: string;
  readonly methods: readonly string[] = ['wechat_native'];
  private readonly baseUrl: string;
  private readonly basePath: string;
  private readonly timeoutMs: number;
  private readonly nowSec: () => number;
  private readonly nonce: () => string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: WechatpayGatewayOptions) {
    if (opts.apiV3Key.length !== 32) throw new Error('wechatpay: the API v3 key must be exactly 32 bytes');
    if (opts.platformKeys.size === 0) throw new Error('wechatpay: at least one platform public key is required');
    this.name = opts.name;
    const base = new URL(opts.baseUrl ?? WECHATPAY_DEFAULT_BASE_URL);
    this.baseUrl = base.origin;
    // A base URL with a path (a proxy, a simulator mount) is part of what the server sees and signs.
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.nowSec = opts.nowSec ?? ((): number => Math.floor(Date.now() / 1000));
    this.nonce = opts.nonce ?? defaultNonce;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  async create(req: CreatePaymentRequest): Promise<GatewayPaymentResult> {
    const { outTradeNo } = req;
    if (!this.methods.includes(req.method))
      return { status: 'failed', outTradeNo, failureCode: 'METHOD_NOT_SUPPORTED' };
    const amount = toWechatAmount(req.amount);
    if (amount === undefined) return { status: 'failed', outTradeNo, failureCode: 'CURRENCY_NOT_SUPPORTED' };
    const body = {
      appid: this.opts.appid,
      mchid: this.opts.mchid,
      description: clip(req.subject.length > 0 ? req.subject : outTradeNo, 127),
      out_trade_no: outTradeNo,
      notify_url: req.notifyUrl ?? this.opts.notifyUrl,
      amount,
    };
    const res = await this.call('POST', '/v3/pay/transactions/native', body);
    if (res.status === 200 && res.json !== undefined && str(res.json, 'code_url') !== undefined) {
      return { status: 'pending', outTradeNo, amount: req.amount, payUrl: str(res.json, 'code_url') ?? '' };
    }
    const code = errorCode(res);
    if (res.status >= 400 && ORDER_EXISTS_CODES.has(code)) {
      // The order already exists (our earlier attempt got through): its state is the answer —
      // unless the number was used for a different amount, which is a refusal, not our order.
      const existing = await this.query(outTradeNo);
      if (existing.status === 'not_found') return { status: 'failed', outTradeNo, failureCode: code };
      if (existing.amount !== undefined && existing.amount.amount !== req.amount.amount)
        return { status: 'failed', outTradeNo, failureCode: code };
      return existing;
    }
    if (res.status >= 400 && res.status < 500) return { status: 'failed', outTradeNo, failureCode: code };
    throw new GatewayUnknownOutcomeError(`WeChat Pay native order answered ${res.status} without a code_url`);
  }

  async query(outTradeNo: string): Promise<GatewayPaymentResult> {
    const res = await this.call(
      'GET',
      `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}` +
        `?mchid=${encodeURIComponent(this.opts.mchid)}`,
    );
    if (res.status === 404 || (res.status >= 400 && NOT_FOUND_CODES.has(errorCode(res))))
      return { status: 'not_found', outTradeNo };
    if (res.status !== 200 || res.json === undefined) throw rejected(res);
    const t = res.json;
    const state = t.trade_state;
    if (!isTradeState(state) || str(t, 'out_trade_no') !== outTradeNo) {
      throw new WechatpayRequestRejectedError(
        res.status,
        'UNEXPECTED_RESPONSE',
        'the order query answered an unknown trade_state or another order',
      );
    }
    const amount = isObj(t.amount) ? fromWechatAmount(t.amount.total, t.amount.currency) : undefined;
    const status = paymentStatusOf(state);
    const transactionId = str(t, 'transaction_id');
    return {
      status,
      outTradeNo,
      ...(transactionId === undefined ? {} : { gatewayTradeNo: transactionId }),
      ...(amount === undefined ? {} : { amount }),
      ...(status === 'failed' || status === 'closed' ? { failureCode: state } : {}),
      ...paidAt(status, t.success_time),
    };
  }

  async refund(req: RefundRequest): Promise<GatewayRefundResult> {
    const { outRefundNo } = req;
    const refund = toWechatAmount(req.amount);
    if (refund === undefined) return { status: 'failed', outRefundNo, failureCode: 'CURRENCY_NOT_SUPPORTED' };
    let total: Money | undefined = req.total;
    if (total === undefined) {
      // WeChat needs the order's total with every refund; ask for it rather than guess.
      const order = await this.query(req.outTradeNo);
      if (order.status === 'not_found') return { status: 'failed', outRefundNo, failureCode: 'ORDER_NOT_EXIST' };
      total = order.amount;
    }
    const totalAmount = total === undefined ? undefined : toWechatAmount(total);
    if (totalAmount === undefined) return { status: 'failed', outRefundNo, failureCode: 'CURRENCY_NOT_SUPPORTED' };
    const body = {
      out_trade_no: req.outTradeNo,
      out_refund_no: outRefundNo,
      ...(req.reason.length > 0 ? { reason: clip(req.reason, 80) } : {}),
      ...(req.notifyUrl === undefined ? { notify_url: this.opts.notifyUrl } : { notify_url: req.notifyUrl }),
      amount: { refund: refund.total, total: totalAmount.total, currency: 'CNY' },
    };
    const res = await this.call('POST', '/v3/refund/domestic/refunds', body);
    if (res.status === 200 && res.json !== undefined) return this.refundView(res.json, outRefundNo, res);
    if (res.status >= 400 && res.status < 500) return { status: 'failed', outRefundNo, failureCode: errorCode(res) };
    throw new GatewayUnknownOutcomeError(`WeChat Pay refund answered ${res.status}`);
  }

  /**
   * The day's ALL trade bill: the signed `GET /v3/bill/tradebill` gives a download URL and the
   * bill's SHA1; the download (signed by us, not by the platform) is gunzipped and must match
   * that SHA1, or it is refused (STATEMENT_INVALID) rather than reconciled against.
   */
  async statement(date: string): Promise<StatementFile> {
    const name = `${this.name}-${date}.csv`;
    const res = await this.call(
      'GET',
      `/v3/bill/tradebill?bill_date=${encodeURIComponent(date)}&bill_type=ALL&tar_type=GZIP`,
    );
    const url = res.json === undefined ? undefined : str(res.json, 'download_url');
    const hash = res.json === undefined ? undefined : str(res.json, 'hash_value');
    if (res.status !== 200 || url === undefined || hash === undefined) throw rejected(res);
    const target = new URL(url);
    if (target.protocol !== 'https:' && target.origin !== this.baseUrl)
      throw new StatementInvalidError(name, null, 'the download URL is neither https nor the configured host');
    const path = `${target.pathname}${target.search}`;
    let bytes: Uint8Array;
    try {
      const got = await this.fetchImpl(target, {
        headers: {
          authorization: authorization(
            { mchid: this.opts.mchid, serialNo: this.opts.merchantSerialNo, privateKey: this.opts.merchantPrivateKey },
            'GET',
            path,
            '',
            this.nowSec(),
            this.nonce(),
          ),
          'user-agent': 'open-autoglm-wechatpay/1 (+node)',
        },
        redirect: 'manual',
        signal: AbortSignal.timeout(Math.max(this.timeoutMs, 30_000)),
      });
      if (got.status !== 200) throw new Error(`HTTP ${String(got.status)}`);
      bytes = new Uint8Array(await got.arrayBuffer());
    } catch (e) {
      throw new GatewayUnknownOutcomeError(
        `WeChat Pay bill download: ${e instanceof Error ? e.message : 'transport failure'}`,
      );
    }
    let bill: Uint8Array;
    try {
      bill = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
    } catch {
      throw new StatementInvalidError(name, null, 'the download is not a readable gzip file');
    }
    if (createHash('sha1').update(bill).digest('hex') !== hash.toLowerCase())
      throw new StatementInvalidError(name, null, 'the download does not match the SHA1 the platform gave');
    return { format: 'wechatpay', name, bytes: bill };
  }

  async queryRefund(outTradeNo: string, outRefundNo: string): Promise<GatewayRefundResult> {
    const res = await this.call('GET', `/v3/refund/domestic/refunds/${encodeURIComponent(outRefundNo)}`);
    if (res.status === 404 || (res.status >= 400 && NOT_FOUND_CODES.has(errorCode(res))))
      return { status: 'not_found', outRefundNo };
    if (res.status !== 200 || res.json === undefined) throw rejected(res);
    // Refund numbers are unique per merchant; one that belongs to another order is not this order's refund.
    if (str(res.json, 'out_trade_no') !== undefined && str(res.json, 'out_trade_no') !== outTradeNo)
      return { status: 'not_found', outRefundNo };
    return this.refundView(res.json, outRefundNo, res);
  }

  async close(outTradeNo: string): Promise<GatewayPaymentResult> {
    const res = await this.call('POST', `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}/close`, {
      mchid: this.opts.mchid,
    });
    if (res.status === 204 || res.status === 200) return { status: 'closed', outTradeNo, failureCode: 'CLOSED' };
    if (res.status === 404 || NOT_FOUND_CODES.has(errorCode(res))) return { status: 'not_found', outTradeNo };
    // Paid (ORDERPAID) or otherwise not closable: the order's state is the answer.
    if (res.status >= 400 && res.status < 500) return this.query(outTradeNo);
    throw rejected(res);
  }

  verifyNotification(input: RawNotification): Promise<NotificationVerdict> {
    return Promise.resolve(this.verify(input));
  }

  private verify(input: RawNotification): NotificationVerdict {
    const sig = verifyPlatformSignature((n) => input.headers[n], input.body, this.opts.platformKeys);
    if (!sig.ok) {
      const code = sig.refusal.code === 'MALFORMED' ? 'MALFORMED_NOTIFICATION' : sig.refusal.code;
      return { ok: false, code, message: sig.refusal.message };
    }
    let envelope: unknown;
    try {
      envelope = JSON.parse(input.body);
    } catch {
      return { ok: false, code: 'MALFORMED_NOTIFICATION', message: 'the notification body is not JSON' };
    }
    if (!isObj(envelope) || !isObj(envelope.resource))
      return { ok: false, code: 'MALFORMED_NOTIFICATION', message: 'the notification has no resource' };
    const id = str(envelope, 'id');
    const eventType = str(envelope, 'event_type');
    const r = envelope.resource;
    const algorithm = str(r, 'algorithm');
    const ciphertext = str(r, 'ciphertext');
    const nonce = str(r, 'nonce');
    const aad = r.associated_data;
    if (
      id === undefined ||
      eventType === undefined ||
      algorithm === undefined ||
      ciphertext === undefined ||
      nonce === undefined ||
      (aad !== undefined && typeof aad !== 'string')
    ) {
      return {
        ok: false,
        code: 'MALFORMED_NOTIFICATION',
        message: 'id, event_type and resource.{algorithm, ciphertext, nonce} are required',
      };
    }
    const kind = eventKindOf(eventType);
    if (kind === undefined)
      return { ok: false, code: 'MALFORMED_NOTIFICATION', message: `unsupported event_type ${eventType.slice(0, 40)}` };
    const plain = decryptResource(
      { algorithm, ciphertext, nonce, ...(aad === undefined ? {} : { associated_data: aad }) },
      this.opts.apiV3Key,
    );
    if (plain === undefined)
      return {
        ok: false,
        code: 'DECRYPTION_FAILED',
        message: 'the resource does not decrypt with the API v3 key (AEAD_AES_256_GCM)',
      };
    let p: unknown;
    try {
      p = JSON.parse(plain);
    } catch {
      return { ok: false, code: 'MALFORMED_NOTIFICATION', message: 'the decrypted resource is not JSON' };
    }
    if (!isObj(p))
      return { ok: false, code: 'MALFORMED_NOTIFICATION', message: 'the decrypted resource is not an object' };
    if (str(p, 'mchid') !== this.opts.mchid)
      return { ok: false, code: 'MALFORMED_NOTIFICATION', message: 'the notification is for another merchant' };
    const outTradeNo = str(p, 'out_trade_no');
    if (outTradeNo === undefined)
      return { ok: false, code: 'MALFORMED_NOTIFICATION', message: 'out_trade_no is missing' };
    const common = {
      eventId: id,
      outTradeNo,
      timestamp: Number(sig.envelope.timestamp) * 1000,
      nonce: sig.envelope.nonce,
    };
    const amt = isObj(p.amount) ? p.amount : {};
    if (kind === 'payment') {
      const state = p.trade_state;
      const amount = fromWechatAmount(amt.total, amt.currency);
      if (!isTradeState(state) || amount === undefined)
        return { ok: false, code: 'MALFORMED_NOTIFICATION', message: 'trade_state and amount.total are required' };
      if (str(p, 'appid') !== undefined && str(p, 'appid') !== this.opts.appid)
        return { ok: false, code: 'MALFORMED_NOTIFICATION', message: 'the notification is for another appid' };
      const status = paymentStatusOf(state);
      const transactionId = str(p, 'transaction_id');
      const n: GatewayNotification = {
        kind: 'payment',
        ...common,
        status,
        amount,
        ...(transactionId === undefined ? {} : { gatewayTradeNo: transactionId }),
        ...(status === 'failed' || status === 'closed' ? { failureCode: state } : {}),
        ...paidAt(status, p.success_time),
      };
      return { ok: true, notification: n };
    }
    const outRefundNo = str(p, 'out_refund_no');
    const refundStatus = p.refund_status;
    const amount = fromWechatAmount(amt.refund, amt.currency);
    if (outRefundNo === undefined || !isRefundStatus(refundStatus) || amount === undefined) {
      return {
        ok: false,
        code: 'MALFORMED_NOTIFICATION',
        message: 'out_refund_no, refund_status and amount.refund are required',
      };
    }
    const mapped = refundStatusOf(refundStatus);
    const refundId = str(p, 'refund_id');
    const n: GatewayNotification = {
      kind: 'refund',
      ...common,
      outRefundNo,
      status: mapped.status,
      amount,
      ...(refundId === undefined ? {} : { gatewayRefundNo: refundId }),
      ...(mapped.failureCode === undefined ? {} : { failureCode: mapped.failureCode }),
    };
    return { ok: true, notification: n };
  }

  /**
   * WeChat reads the HTTP status: 2xx = received (no body needed; `{"code":"SUCCESS"}` is what
   * the older pages show and is still understood), 4xx/5xx with code FAIL = send it again later.
   */
  acknowledge(accepted: boolean): NotificationAck {
    return accepted
      ? { status: 200, contentType: 'application/json', body: '{"code":"SUCCESS","message":"成功"}' }
      : { status: 400, contentType: 'application/json', body: '{"code":"FAIL","message":"失败"}' };
  }

  private refundView(r: Json, outRefundNo: string, res: ApiResponse): GatewayRefundResult {
    const status = r.status;
    if (!isRefundStatus(status) || str(r, 'out_refund_no') !== outRefundNo) {
      throw new WechatpayRequestRejectedError(
        res.status,
        'UNEXPECTED_RESPONSE',
        'the refund answer has an unknown status or another out_refund_no',
      );
    }
    const mapped = refundStatusOf(status);
    const amt = isObj(r.amount) ? r.amount : {};
    const amount = fromWechatAmount(amt.refund, amt.currency);
    const refundId = str(r, 'refund_id');
    return {
      status: mapped.status,
      outRefundNo,
      ...(refundId === undefined ? {} : { gatewayRefundNo: refundId }),
      ...(amount === undefined ? {} : { amount }),
      ...(mapped.failureCode === undefined ? {} : { failureCode: mapped.failureCode }),
    };
  }

  /**
   * One signed request. Transport failures, timeouts and 5xx are unknown outcomes; 429 is a
   * rate limit; any response carrying a platform signature must verify, and a 2xx must carry one.
   */
  private async call(method: 'GET' | 'POST', pathAndQuery: string, payload?: Json): Promise<ApiResponse> {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const path = `${this.basePath}${pathAndQuery}`;
    const auth = authorization(
      { mchid: this.opts.mchid, serialNo: this.opts.merchantSerialNo, privateKey: this.opts.merchantPrivateKey },
      method,
      path,
      body,
      this.nowSec(),
      this.nonce(),
    );
    let res: Response;
    let text: string;
    try {
      res = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: auth,
          accept: 'application/json',
          'user-agent': 'open-autoglm-wechatpay/1 (+node)',
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...traceHeaders(),
        },
        ...(payload === undefined ? {} : { body }),
        // A redirect would re-send a signed money request somewhere we did not choose.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      throw new GatewayUnknownOutcomeError(
        `WeChat Pay ${method} ${pathAndQuery.split('?')[0] ?? ''}: ` +
          `${e instanceof Error ? e.name : 'transport failure'}`,
      );
    }
    if (res.status === 429) {
      throw new GatewayRateLimitedError('WeChat Pay: rate limited (429)', retryAfterMs(res.headers.get('retry-after')));
    }
    if (res.status >= 500) throw new GatewayUnknownOutcomeError(`WeChat Pay ${method} answered ${res.status}`);
    const signed = res.headers.get('wechatpay-signature') !== null;
    if (signed || (res.status >= 200 && res.status < 300)) {
      const v = verifyPlatformSignature((n) => res.headers.get(n), text, this.opts.platformKeys);
      if (!v.ok) throw new WechatpayResponseSignatureError(v.refusal.code, v.refusal.message);
    }
    let json: Json | undefined;
    if (text.length > 0) {
      try {
        const parsed: unknown = JSON.parse(text);
        json = isObj(parsed) ? parsed : undefined;
      } catch {
        json = undefined;
      }
    }
    return { status: res.status, json };
  }
}

function errorCode(res: ApiResponse): string {
  return (res.json !== undefined ? str(res.json, 'code') : undefined) ?? `HTTP_${res.status}`;
}

function rejected(res: ApiResponse): WechatpayRequestRejectedError {
  const message = res.json !== undefined ? (str(res.json, 'message') ?? '') : '';
  return new WechatpayRequestRejectedError(res.status, errorCode(res), message.slice(0, 200));
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
function retryAfterMs(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** `paidAt` of a succeeded payment whose answer says when (success_time). */
function paidAt(status: string, successTime: unknown): { readonly paidAt?: number } {
  const at = status === 'succeeded' ? successTimeOf(successTime) : undefined;
  return at === undefined ? {} : { paidAt: at };
}
