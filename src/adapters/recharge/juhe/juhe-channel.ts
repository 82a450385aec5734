import type { StatementFile } from '../../../domain/statements/statement-line.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Money } from '../../../domain/money.js';
import type { OperatorId } from '../../../domain/recharge/number-segments.js';
import type { OperatorSettings } from '../../../domain/recharge/operator-settings.js';
import { err, ok, type Result } from '../../../domain/result.js';
import type { Clock } from '../../../ports/clock.js';
import {
  type RechargeCallback,
  type RechargeCallbackRequest,
  type RechargeChannel,
  type RechargeChannelResult,
  type RechargeCheckRequest,
  type RechargeCheckResult,
  type RechargeQueryRequest,
  type RechargeSubmitRequest,
  RechargeUnknownOutcomeError,
} from '../../../ports/recharge-channel.js';
import { traceHeaders } from '../../tracing/trace-context.js';
import { encodeQuery, KeepAliveHttp } from '../keep-alive-http.js';
import {
  CALLBACK_REPLY,
  DEFAULT_NOT_FOUND_ERROR_CODES,
  DEFAULT_UNKNOWN_ERROR_CODES,
  fenToCardnum,
  gameStateToStatus,
  isPlatformRejection,
  staToStatus,
  yuanToFen,
} from './juhe-mapping.js';

export interface JuheChannelOptions {
  readonly name: string;
  /** e.g. http://op.juhe.cn/ofpay/mobile/ (the trailing slash matters: methods are relative). */
  readonly baseUrl: string;
  /** Juhe `key` (AppKey). */
  readonly apiKey: string;
  /** Juhe OpenID, part of the request signatures. */
  readonly openId: string;
  readonly operatorSettings: Readonly<Record<OperatorId, OperatorSettings>>;
  readonly clock: Pick<Clock, 'now'>;
  readonly maxSockets?: number;
  readonly unknownErrorCodes?: readonly number[];
  readonly notFoundErrorCodes?: readonly number[];
}

interface JuheEnvelope {
  readonly error_code: number;
  readonly reason: string;
  readonly result: Record<string, unknown> | null;
}

const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase());
  const y = Buffer.from(b.toLowerCase());
  return x.length === y.length && timingSafeEqual(x, y);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

/**
 * Juhe (聚合数据) mobile top-up over its signed HTTP API: telcheck, onlineorder
 * (sign = md5(OpenID + key + phoneno + cardnum + orderid)), ordersta (game_state 0/1/9), yue,
 * and callbacks signed md5(key + sporder_id + orderid). Per-operator timeout and charset
 * (GBK for Unicom by default) on every call; connections are kept alive.
 */
export class JuheRechargeChannel implements RechargeChannel {
  readonly name: string;
  private readonly http: KeepAliveHttp;
  private readonly base: URL;
  private readonly unknownCodes: ReadonlySet<number>;
  private readonly notFoundCodes: ReadonlySet<number>;

  constructor(private readonly options: JuheChannelOptions) {
    this.name = options.name;
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    this.http = new KeepAliveHttp(options.maxSockets ?? 32);
    this.unknownCodes = new Set(options.unknownErrorCodes ?? DEFAULT_UNKNOWN_ERROR_CODES);
    this.notFoundCodes = new Set(options.notFoundErrorCodes ?? DEFAULT_NOT_FOUND_ERROR_CODES);
  }

  async submit(req: RechargeSubmitRequest): Promise<RechargeChannelResult> {
    const { apiKey, openId } = this.options;
    const cardnum = fenToCardnum(req.amount);
    const sign = md5(openId + apiKey + req.phone + cardnum + req.orderId);
    const res = await this.call(
      'onlineorder',
      { phoneno: req.phone, cardnum, orderid: req.orderId, key: apiKey, sign },
      req.operator,
      true,
    );
    if (res.kind === 'rate_limited')
      return this.unlessOrdered(
        req,
        { status: 'failed', orderId: req.orderId, failureCode: 'RATE_LIMITED', final: false },
        true,
      );
    const env = res.envelope;
    if (env.error_code === 0) return this.view(req.orderId, env.result, 'processing');
    const failed: RechargeChannelResult = {
      status: 'failed',
      orderId: req.orderId,
      failureCode: `JUHE_${env.error_code}`,
      failureMessage: env.reason,
      final: false,
    };
    return this.unlessOrdered(req, failed, isPlatformRejection(env.error_code, this.unknownCodes));
  }

  /**
   * A refusal is only definite if Juhe has no order under this id: a duplicate submit, for one,
   * is refused while the first may be topping the phone up, and so is a resubmission that meets
   * a rate limit or a spent quota. Ask before we let routing fail over (which would top up
   * twice). A platform refusal (rate limit, quota, bad key) turned this request away before the
   * product saw it: if ordersta is refused as well, the refusal stands, so that a bad key fails
   * over at once instead of leaving every recharge unknown.
   */
  private async unlessOrdered(
    req: RechargeSubmitRequest,
    failed: RechargeChannelResult,
    platform: boolean,
  ): Promise<RechargeChannelResult> {
    let existing: RechargeChannelResult;
    try {
      existing = await this.query({ orderId: req.orderId, operator: req.operator });
    } catch (e) {
      if (platform && e instanceof RechargeUnknownOutcomeError) return failed;
      throw e;
    }
    return existing.status === 'not_found' ? failed : existing;
  }

  async query(req: RechargeQueryRequest): Promise<RechargeChannelResult> {
    const res = await this.call('ordersta', { orderid: req.orderId, key: this.options.apiKey }, req.operator, false);
    if (res.kind === 'rate_limited') throw new RechargeUnknownOutcomeError('juhe: ordersta rate limited');
    const env = res.envelope;
    if (env.error_code === 0) return this.view(req.orderId, env.result, undefined);
    if (this.notFoundCodes.has(env.error_code)) return { status: 'not_found', orderId: req.orderId };
    throw new RechargeUnknownOutcomeError(`juhe: ordersta answered ${env.error_code} ${env.reason}`);
  }

  async check(req: RechargeCheckRequest): Promise<RechargeCheckResult> {
    const res = await this.call(
      'telcheck',
      { phoneno: req.phone, cardnum: fenToCardnum(req.amount), key: this.options.apiKey },
      req.operator,
      false,
    );
    if (res.kind === 'rate_limited')
      return { rechargeable: false, code: 'RATE_LIMITED', message: 'juhe: too many requests' };
    const env = res.envelope;
    return env.error_code === 0
      ? { rechargeable: true }
      : { rechargeable: false, code: `JUHE_${env.error_code}`, message: env.reason };
  }

  async balance(): Promise<Money> {
    const { apiKey, openId, clock } = this.options;
    const timestamp = String(Math.floor(clock.now() / 1000));
    const res = await this.call(
      'yue',
      { timestamp, key: apiKey, sign: md5(openId + apiKey + timestamp) },
      'CHINA_MOBILE',
      false,
    );
    if (res.kind === 'rate_limited') throw new RechargeUnknownOutcomeError('juhe: yue rate limited');
    const money = res.envelope.error_code === 0 ? yuanToFen(res.envelope.result?.money) : undefined;
    if (money === undefined) throw new Error(`juhe: yue answered ${res.envelope.error_code} ${res.envelope.reason}`);
    return money;
  }

  /**
   * The day's order list (`orderlist?key&date=YYYY-MM-DD`, UTF-8 JSON in Juhe's answer shape;
   * the real endpoint's parameters are UNCONFIRMED). Fetched outside the keep-alive pool: a
   * day's list may be larger than a call's answer is allowed to be.
   */
  async statement(date: string): Promise<StatementFile> {
    const url = new URL('orderlist', this.base);
    url.search = new URLSearchParams({ key: this.options.apiKey, date }).toString();
    let bytes: Uint8Array;
    try {
      const res = await fetch(url, { headers: traceHeaders(), signal: AbortSignal.timeout(60_000) });
      if (res.status !== 200) throw new Error(`HTTP ${String(res.status)}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw new RechargeUnknownOutcomeError(`juhe orderlist: ${e instanceof Error ? e.message : 'no answer'}`);
    }
    return { format: 'juhe', name: `${this.name}-${date}.json`, bytes };
  }

  parseCallback(req: RechargeCallbackRequest): Result<RechargeCallback> {
    const { sporder_id: channelOrderId, orderid: orderId, sta, sign } = req.params;
    const status = staToStatus(sta);
    if (channelOrderId === undefined || orderId === undefined || sign === undefined || status === undefined) {
      return err('CALLBACK_INVALID', 'juhe callback needs sporder_id, orderid, sta (1 or 9) and sign');
    }
    if (!/^[0-9a-fA-F]{32}$/.test(sign) || !sameHex(sign, md5(this.options.apiKey + channelOrderId + orderId))) {
      return err('CALLBACK_SIGNATURE_INVALID', 'juhe callback signature does not verify');
    }
    const message = req.params.err_msg;
    return ok({
      orderId,
      channelOrderId,
      status,
      ...(message === undefined || message === '' ? {} : { failureMessage: message }),
      // `sta` is outside the signature: a replayed genuine callback with `sta` flipped verifies.
      confirmByQuery: true,
      reply: { status: 200, contentType: 'text/plain; charset=utf-8', body: CALLBACK_REPLY },
    });
  }

  /** Release kept-alive connections. */
  close(): void {
    this.http.close();
  }

  private view(
    orderId: string,
    result: Record<string, unknown> | null,
    fallback: RechargeChannelResult['status'] | undefined,
  ): RechargeChannelResult {
    const status = gameStateToStatus(result?.game_state) ?? fallback;
    if (status === undefined)
      throw new RechargeUnknownOutcomeError(`juhe: unreadable game_state ${String(result?.game_state)}`);
    const channelOrderId = str(result?.sporder_id);
    const cost = yuanToFen(result?.ordercash ?? result?.uordercash);
    return {
      status,
      orderId,
      ...(channelOrderId === undefined ? {} : { channelOrderId }),
      ...(status === 'failed' ? { failureCode: 'JUHE_GAME_STATE_9', final: false } : {}),
      ...(cost === undefined ? {} : { cost }),
    };
  }

  /**
   * One signed GET in the operator's charset and timeout. Transport failures, 5xx, unreadable
   * bodies and the "unknown" error codes throw RechargeUnknownOutcomeError.
   */
  private async call(
    method: string,
    params: Record<string, string>,
    operator: OperatorId,
    isSubmit: boolean,
  ): Promise<{ kind: 'ok'; envelope: JuheEnvelope } | { kind: 'rate_limited' }> {
    const settings = this.options.operatorSettings[operator];
    const url = new URL(method, this.base);
    url.search = encodeQuery(params, settings.encoding);
    const res = await this.http.get(url, settings.timeoutMs, settings.encoding);
    // 429 means the request was turned away before any work: safe to treat as a refusal.
    if (res.status === 429) return { kind: 'rate_limited' };
    if (res.status < 200 || res.status >= 300)
      throw new RechargeUnknownOutcomeError(`juhe ${method}: HTTP ${res.status}`);
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      throw new RechargeUnknownOutcomeError(`juhe ${method}: unreadable body`);
    }
    const env = body as Partial<JuheEnvelope> | null;
    const code = Number(env?.error_code);
    if (env === null || typeof env !== 'object' || !Number.isInteger(code))
      throw new RechargeUnknownOutcomeError(`juhe ${method}: no error_code`);
    if (isSubmit && this.unknownCodes.has(code))
      throw new RechargeUnknownOutcomeError(`juhe ${method}: ${code} ${String(env.reason)}`);
    const result = env.result !== null && typeof env.result === 'object' ? env.result : null;
    return {
      kind: 'ok',
      envelope: { error_code: code, reason: typeof env.reason === 'string' ? env.reason : '', result },
    };
  }
}
