import type { KeyObject } from 'node:crypto';
import type { Clock } from '../../../ports/clock.js';
import type { StatementFile } from '../../../domain/statements/statement-line.js';
import {
  type CreatePaymentRequest,
  type GatewayPaymentResult,
  GatewayRateLimitedError,
  type GatewayRefundResult,
  GatewayUnknownOutcomeError,
  type NotificationAck,
  type NotificationVerdict,
  type PaymentGateway,
  type RawNotification,
  type RefundRequest,
} from '../../../ports/payment-gateway.js';
import { loadAlipayKey } from './alipay-keys.js';
import {
  ALIPAY_CURRENCY,
  type AlipayOutcome,
  beijingTimestamp,
  classifyCode,
  fenToYuan,
  mapTradeStatus,
  paidAtOf,
  responseKey,
  yuanToMoney,
} from './alipay-mapping.js';
import { verifyAlipayNotification } from './alipay-notification.js';
import { contentString, rawMember, rsa2Sign, rsa2Verify } from './alipay-signing.js';
import { traceHeaders } from '../../tracing/trace-context.js';

export const ALIPAY_DEFAULT_GATEWAY_URL = 'https://openapi.alipay.com/gateway.do';

export interface AlipayGatewayOptions {
  /** The configured name, e.g. "alipay". */
  readonly name?: string;
  readonly appId: string;
  /** Our application private key (PEM, bare base64, a file path, or a KeyObject). */
  readonly privateKey: string | KeyObject;
  /** Alipay's public key for this app (PEM, bare base64, a file path, or a KeyObject). */
  readonly alipayPublicKey: string | KeyObject;
  readonly gatewayUrl?: string;
  /** Per-call deadline; past it the outcome is unknown. */
  readonly timeoutMs?: number;
  /** Default notify_url for precreate and refunds when the request does not name one. */
  readonly notifyUrl?: string;
  readonly clock?: Pick<Clock, 'now'>;
}

/**
 * Thrown when Alipay refuses a query or close as invalid (bad signature, wrong app_id, missing
 * permission): a configuration problem, not a statement about the payment.
 */
export class AlipayRequestRefusedError extends Error {
  override readonly name = 'AlipayRequestRefusedError';
  constructor(
    message: string,
    readonly subCode: string,
  ) {
    super(message);
  }
}

/** The params that travel in the URL query, as Alipay's own SDKs send them (charset first of all). */
const URL_PARAMS = ['app_id', 'method', 'format', 'charset', 'sign_type', 'sign', 'timestamp', 'version', 'notify_url'];

interface AlipayAnswer {
  readonly outcome: AlipayOutcome;
  readonly node: Readonly<Record<string, unknown>>;
}

const str = (node: Readonly<Record<string, unknown>>, key: string): string | undefined => {
  const v = node[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/**
 * The Alipay openapi v2 connector (face-to-face QR: precreate, query, refund, refund query,
 * close; async notifications). Requests are RSA2-signed over the sorted parameters; every
 * answer's signature is verified over the raw `<method>_response` text before it is believed.
 * An answer that is missing, late, unsigned or says "system error" is an unknown outcome.
 */
export class AlipayGateway implements PaymentGateway {
  readonly name: string;
  readonly methods: readonly string[] = ['alipay_qr'];
  private readonly appId: string;
  private readonly privateKey: KeyObject;
  private readonly alipayPublicKey: KeyObject;
  private readonly gatewayUrl: string;
  private readonly timeoutMs: number;
  private readonly notifyUrl: string | undefined;
  private readonly clock: Pick<Clock, 'now'>;

  constructor(options: AlipayGatewayOptions) {
    this.name = options.name ?? 'alipay';
    this.appId = options.appId;
    this.privateKey = loadAlipayKey(options.privateKey, 'private');
    this.alipayPublicKey = loadAlipayKey(options.alipayPublicKey, 'public');
    this.gatewayUrl = options.gatewayUrl ?? ALIPAY_DEFAULT_GATEWAY_URL;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.notifyUrl = options.notifyUrl;
    this.clock = options.clock ?? { now: () => Date.now() };
  }

  async create(req: CreatePaymentRequest): Promise<GatewayPaymentResult> {
    if (!this.methods.includes(req.method))
      return { status: 'failed', outTradeNo: req.outTradeNo, failureCode: 'METHOD_NOT_SUPPORTED' };
    if (req.amount.currency !== ALIPAY_CURRENCY)
      return { status: 'failed', outTradeNo: req.outTradeNo, failureCode: 'CURRENCY_NOT_SUPPORTED' };
    const notifyUrl = req.notifyUrl ?? this.notifyUrl;
    const a = await this.call(
      'alipay.trade.precreate',
      { out_trade_no: req.outTradeNo, total_amount: fenToYuan(req.amount.amount), subject: req.subject },
      notifyUrl,
    );
    switch (a.outcome.kind) {
      case 'ok': {
        this.expectSameTrade(a, req.outTradeNo);
        const qr = str(a.node, 'qr_code');
        if (qr === undefined) throw new GatewayUnknownOutcomeError('alipay precreate: success without qr_code');
        return { status: 'pending', outTradeNo: req.outTradeNo, amount: req.amount, payUrl: qr };
      }
      case 'business':
        // A create repeated after an unknown outcome finds the trade already settled: report
        // what the trade really is rather than a refusal.
        if (a.outcome.subCode === 'ACQ.TRADE_HAS_SUCCESS') return this.query(req.outTradeNo);
        if (a.outcome.subCode === 'ACQ.TRADE_HAS_CLOSE')
          return { status: 'closed', outTradeNo: req.outTradeNo, failureCode: a.outcome.subCode };
        return { status: 'failed', outTradeNo: req.outTradeNo, failureCode: a.outcome.subCode };
      case 'invalid_request':
      case 'not_exist':
        return { status: 'failed', outTradeNo: req.outTradeNo, failureCode: a.outcome.subCode };
      case 'unknown':
        throw new GatewayUnknownOutcomeError(`alipay precreate: ${a.outcome.subCode}`);
    }
  }

  async query(outTradeNo: string): Promise<GatewayPaymentResult> {
    const a = await this.call('alipay.trade.query', { out_trade_no: outTradeNo });
    switch (a.outcome.kind) {
      case 'ok': {
        this.expectSameTrade(a, outTradeNo);
        const tradeStatus = str(a.node, 'trade_status');
        const status = mapTradeStatus(tradeStatus);
        if (status === undefined)
          throw new GatewayUnknownOutcomeError(`alipay query: unknown trade_status ${tradeStatus ?? '(none)'}`);
        const amount = yuanToMoney(str(a.node, 'total_amount'));
        const tradeNo = str(a.node, 'trade_no');
        return {
          status,
          outTradeNo,
          ...(tradeNo === undefined ? {} : { gatewayTradeNo: tradeNo }),
          ...(amount === undefined ? {} : { amount }),
          ...paidAtOf(status, str(a.node, 'send_pay_date')),
        };
      }
      case 'not_exist':
        return { status: 'not_found', outTradeNo };
      case 'business':
      case 'invalid_request':
        throw new AlipayRequestRefusedError(`alipay query refused: ${a.outcome.subCode}`, a.outcome.subCode);
      case 'unknown':
        throw new GatewayUnknownOutcomeError(`alipay query: ${a.outcome.subCode}`);
    }
  }

  async refund(req: RefundRequest): Promise<GatewayRefundResult> {
    if (req.amount.currency !== ALIPAY_CURRENCY)
      return { status: 'failed', outRefundNo: req.outRefundNo, failureCode: 'CURRENCY_NOT_SUPPORTED' };
    const a = await this.call(
      'alipay.trade.refund',
      {
        out_trade_no: req.outTradeNo,
        refund_amount: fenToYuan(req.amount.amount),
        out_request_no: req.outRefundNo,
        refund_reason: req.reason,
      },
      req.notifyUrl ?? this.notifyUrl,
    );
    switch (a.outcome.kind) {
      case 'ok': {
        this.expectSameTrade(a, req.outTradeNo);
        // refund_fee is the trade's cumulative refunded total; send_back_fee, when present, is
        // what this refund returned. Alipay answers a repeated out_request_no with the first
        // refund (fund_change "N"), so the requested amount is this refund's amount otherwise.
        const amount = yuanToMoney(str(a.node, 'send_back_fee')) ?? req.amount;
        return { status: 'succeeded', outRefundNo: req.outRefundNo, amount };
      }
      case 'business':
      case 'invalid_request':
      case 'not_exist':
        return { status: 'failed', outRefundNo: req.outRefundNo, failureCode: a.outcome.subCode };
      case 'unknown':
        throw new GatewayUnknownOutcomeError(`alipay refund: ${a.outcome.subCode}`);
    }
  }

  async queryRefund(outTradeNo: string, outRefundNo: string): Promise<GatewayRefundResult> {
    const a = await this.call('alipay.trade.fastpay.refund.query', {
      out_trade_no: outTradeNo,
      out_request_no: outRefundNo,
    });
    switch (a.outcome.kind) {
      case 'ok': {
        // Alipay answers 10000 with no refund fields for a refund it does not know.
        const amount = yuanToMoney(str(a.node, 'refund_amount'));
        const requestNo = str(a.node, 'out_request_no');
        if (amount === undefined || (requestNo !== undefined && requestNo !== outRefundNo))
          return { status: 'not_found', outRefundNo };
        // An absent refund_status means success for the older interface version.
        const refundStatus = str(a.node, 'refund_status');
        const status = refundStatus === undefined || refundStatus === 'REFUND_SUCCESS' ? 'succeeded' : 'pending';
        return { status, outRefundNo, amount };
      }
      case 'not_exist':
        return { status: 'not_found', outRefundNo };
      case 'business':
      case 'invalid_request':
        throw new AlipayRequestRefusedError(`alipay refund query refused: ${a.outcome.subCode}`, a.outcome.subCode);
      case 'unknown':
        throw new GatewayUnknownOutcomeError(`alipay refund query: ${a.outcome.subCode}`);
    }
  }

  async close(outTradeNo: string): Promise<GatewayPaymentResult> {
    const a = await this.call('alipay.trade.close', { out_trade_no: outTradeNo });
    switch (a.outcome.kind) {
      case 'ok': {
        this.expectSameTrade(a, outTradeNo);
        const tradeNo = str(a.node, 'trade_no');
        return { status: 'closed', outTradeNo, ...(tradeNo === undefined ? {} : { gatewayTradeNo: tradeNo }) };
      }
      case 'not_exist':
        return { status: 'not_found', outTradeNo };
      case 'business':
        // ACQ.TRADE_STATUS_ERROR: it was paid (or closed) first; say what it is now.
        return this.query(outTradeNo);
      case 'invalid_request':
        throw new AlipayRequestRefusedError(`alipay close refused: ${a.outcome.subCode}`, a.outcome.subCode);
      case 'unknown':
        throw new GatewayUnknownOutcomeError(`alipay close: ${a.outcome.subCode}`);
    }
  }

  verifyNotification(input: RawNotification): Promise<NotificationVerdict> {
    return Promise.resolve(verifyAlipayNotification(input, this.appId, this.alipayPublicKey));
  }

  /** Alipay stops re-sending only on the plain text `success`; anything else makes it retry. */
  acknowledge(accepted: boolean): NotificationAck {
    return accepted
      ? { status: 200, contentType: 'text/plain', body: 'success' }
      : { status: 400, contentType: 'text/plain', body: 'fail' };
  }

  /**
   * The day's trade bill: the signed `alipay.data.dataservice.bill.downloadurl.query`
   * (bill_type trade) gives a download URL good for 30 s; the download is the zip itself.
   */
  async statement(date: string): Promise<StatementFile> {
    const method = 'alipay.data.dataservice.bill.downloadurl.query';
    const a = await this.call(method, { bill_type: 'trade', bill_date: date });
    const url = str(a.node, 'bill_download_url');
    if (a.outcome.kind === 'unknown') throw new GatewayUnknownOutcomeError(`alipay ${method}: ${a.outcome.subCode}`);
    if (a.outcome.kind !== 'ok' || url === undefined) {
      const code = a.outcome.kind === 'ok' ? 'NO_DOWNLOAD_URL' : a.outcome.subCode;
      throw new AlipayRequestRefusedError(`alipay bill download URL refused: ${code}`, code);
    }
    let bytes: Uint8Array;
    try {
      const res = await fetch(url, {
        redirect: 'follow',
        signal: AbortSignal.timeout(Math.max(this.timeoutMs, 30_000)),
      });
      if (res.status !== 200) throw new Error(`HTTP ${String(res.status)}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw new GatewayUnknownOutcomeError(`alipay bill download: ${e instanceof Error ? e.message : 'no answer'}`);
    }
    return { format: 'alipay', name: `${this.name}-${date}.zip`, bytes };
  }

  /** The signed request parameters for a method call (exported through the class for interop tests). */
  signedParams(
    method: string,
    bizContent: Readonly<Record<string, string>>,
    notifyUrl?: string,
  ): Record<string, string> {
    const params: Record<string, string> = {
      app_id: this.appId,
      method,
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: beijingTimestamp(this.clock.now()),
      version: '1.0',
      ...(notifyUrl === undefined ? {} : { notify_url: notifyUrl }),
      biz_content: JSON.stringify(bizContent),
    };
    params.sign = rsa2Sign(contentString(params), this.privateKey);
    return params;
  }

  private async call(
    method: string,
    bizContent: Readonly<Record<string, string>>,
    notifyUrl?: string,
  ): Promise<AlipayAnswer> {
    const params = this.signedParams(method, bizContent, notifyUrl);
    const url = new URL(this.gatewayUrl);
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (URL_PARAMS.includes(k)) url.searchParams.set(k, v);
      else body.set(k, v);
    }
    let text: string;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded;charset=utf-8',
          accept: 'application/json',
          ...traceHeaders(),
        },
        body: body.toString(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (res.status === 429) {
        const retryAfter = Number(res.headers.get('retry-after'));
        await res.body?.cancel();
        throw new GatewayRateLimitedError(
          `alipay ${method}: 429`,
          Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined,
        );
      }
      text = await res.text();
      if (res.status !== 200) throw new GatewayUnknownOutcomeError(`alipay ${method}: HTTP ${res.status}`);
    } catch (e) {
      if (e instanceof GatewayRateLimitedError || e instanceof GatewayUnknownOutcomeError) throw e;
      const reason = e instanceof Error ? e.name : 'error';
      throw new GatewayUnknownOutcomeError(`alipay ${method}: no answer (${reason})`, { cause: e });
    }
    return this.readAnswer(method, text);
  }

  /** Verify the answer's signature over the raw response node, then read it. */
  private readAnswer(method: string, text: string): AlipayAnswer {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new GatewayUnknownOutcomeError(`alipay ${method}: the answer is not JSON`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new GatewayUnknownOutcomeError(`alipay ${method}: the answer is not an object`);
    const envelope = parsed as Record<string, unknown>;
    const key = Object.hasOwn(envelope, responseKey(method)) ? responseKey(method) : 'error_response';
    const raw = rawMember(text, key);
    const sign = envelope.sign;
    if (raw === undefined || typeof sign !== 'string' || !rsa2Verify(raw, sign, this.alipayPublicKey)) {
      throw new GatewayUnknownOutcomeError(
        `alipay ${method}: the answer's signature does not verify with the Alipay public key`,
      );
    }
    // Read the very text that was verified: with a repeated key, JSON.parse of the whole body
    // would pick another occurrence than the one the signature covered.
    const node: unknown = JSON.parse(raw);
    if (typeof node !== 'object' || node === null || Array.isArray(node))
      throw new GatewayUnknownOutcomeError(`alipay ${method}: ${key} is not an object`);
    const n = node as Record<string, unknown>;
    return { outcome: classifyCode(str(n, 'code'), str(n, 'sub_code')), node: n };
  }

  /** A signed answer about another trade is not an answer about ours. */
  private expectSameTrade(a: AlipayAnswer, outTradeNo: string): void {
    const got = str(a.node, 'out_trade_no');
    if (got !== undefined && got !== outTradeNo)
      throw new GatewayUnknownOutcomeError(`alipay: answer for out_trade_no ${got}, asked about ${outTradeNo}`);
  }
}
