import { createHash, type KeyObject } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { isBusinessDate } from '../../domain/statements/shanghai-time.js';
import { DownloadTokens, billDayStarted } from '../statements/download-tokens.js';
import { WECHAT_BILL_TYPES, type WechatBillType, writeWechatBill } from '../statements/wechat-bill-writer.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SimulatedGateway, SimTrade } from '../simulated-gateway.js';
import {
  merchantSignatureValid,
  parseAuthorization,
  platformSignatureHeaders,
  simNonce,
} from './wechatpay-sim-crypto.js';
import { refundJson, transactionJson, type WechatpayMerchantIdentity } from './wechatpay-views.js';

/** Keys and identity of the simulated WeChat Pay platform and the one merchant it serves. */
export interface WechatpayFaceOptions extends WechatpayMerchantIdentity {
  /** Serial of the merchant API certificate whose key signs requests (Authorization serial_no). */
  readonly merchantSerialNo: string;
  /** Verifies the merchant's Authorization signatures. */
  readonly merchantPublicKey: KeyObject;
  /** Serial (certificate serial or PUB_KEY_ID_…) the platform signs under. */
  readonly platformSerial: string;
  readonly platformPrivateKey: KeyObject;
  /** Mount point, e.g. "/wechatpay" when several faces share a server; the signed URL includes it. */
  readonly prefix?: string;
  /** Seconds since the epoch (injected by tests). */
  readonly nowSec?: () => number;
  /** How far a request's Authorization timestamp may be from now (WeChat: 5 minutes). */
  readonly maxSkewSeconds?: number;
  /** The simulated payer whose account a Native order charges once scanned. */
  readonly payer?: string;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;
const OUT_REFUND_NO = /^[0-9A-Za-z_\-|*@]{1,64}$/;
const isFen = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;

interface Answer {
  readonly status: number;
  readonly body?: Json;
}
const fail = (status: number, code: string, message: string): Answer => ({ status, body: { code, message } });

/**
 * The WeChat Pay API v3 face of the simulator: Native orders, order query and close, refunds and
 * refund query, over the shared order book. It checks the merchant's Authorization exactly as the
 * platform does (scheme, mchid, serial, 5-minute timestamp window, SHA256withRSA over
 * METHOD\nURL\ntimestamp\nnonce\nbody\n) and signs every answer — errors included — with its
 * platform key under its serial, so a connector's verification is exercised on every call.
 */
export function registerWechatpayFace(app: FastifyInstance, bank: SimulatedGateway, opts: WechatpayFaceOptions): void {
  const prefix = (opts.prefix ?? '').replace(/\/+$/, '');
  const nowSec = opts.nowSec ?? ((): number => Math.floor(Date.now() / 1000));
  const maxSkew = opts.maxSkewSeconds ?? 300;
  const payer = opts.payer ?? 'wechat-payer';

  const send = (reply: FastifyReply, a: Answer): FastifyReply => {
    const text = a.body === undefined ? '' : JSON.stringify(a.body);
    const headers = {
      ...platformSignatureHeaders(text, opts.platformPrivateKey, opts.platformSerial, nowSec(), simNonce()),
      'request-id': simNonce(),
    };
    reply.code(a.status).headers(headers);
    return a.body === undefined ? reply.send() : reply.type('application/json').send(text);
  };

  /** The platform's own checks before any business logic; undefined when the request is the merchant's. */
  const authenticate = (req: FastifyRequest, body: string): Answer | undefined => {
    const auth = parseAuthorization(req.headers.authorization);
    if (auth === undefined) return fail(401, 'SIGN_ERROR', 'Http头Authorization值格式错误');
    if (!/^\d{1,12}$/.test(auth.timestamp) || Math.abs(nowSec() - Number(auth.timestamp)) > maxSkew) {
      return fail(401, 'SIGN_ERROR', 'Http头Authorization中的timestamp与发起请求的时间不得超过5分钟');
    }
    if (auth.mchid !== opts.mchid) return fail(401, 'SIGN_ERROR', '商户号与Authorization中的mchid不一致');
    if (auth.serialNo !== opts.merchantSerialNo) return fail(401, 'SIGN_ERROR', '商户证书序列号有误');
    if (!merchantSignatureValid(auth, req.method, req.raw.url ?? '', body, opts.merchantPublicKey))
      return fail(401, 'SIGN_ERROR', '错误的签名，导致验签失败');
    return undefined;
  };

  const jsonBody = (body: string): Json | undefined => {
    try {
      const v: unknown = JSON.parse(body);
      return isObj(v) ? v : undefined;
    } catch {
      return undefined;
    }
  };

  const nativeOrder = async (body: string): Promise<Answer> => {
    const b = jsonBody(body);
    if (b === undefined) return fail(400, 'PARAM_ERROR', '请求体不是合法的JSON对象');
    const amount = b.amount;
    if (b.mchid !== opts.mchid) return fail(400, 'MCH_NOT_EXISTS', '商户号不存在');
    if (b.appid !== opts.appid) return fail(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配');
    if (typeof b.out_trade_no !== 'string' || !OUT_TRADE_NO.test(b.out_trade_no))
      return fail(400, 'PARAM_ERROR', 'out_trade_no格式错误');
    if (typeof b.description !== 'string' || b.description.length === 0 || [...b.description].length > 127)
      return fail(400, 'PARAM_ERROR', 'description格式错误');
    if (typeof b.notify_url !== 'string' || !/^https?:\/\//.test(b.notify_url))
      return fail(400, 'PARAM_ERROR', 'notify_url格式错误');
    if (!isObj(amount) || !isFen(amount.total) || (amount.currency !== undefined && amount.currency !== 'CNY'))
      return fail(400, 'PARAM_ERROR', 'amount格式错误');
    const outTradeNo = b.out_trade_no;
    const existing = bank.trade(outTradeNo);
    if (existing !== undefined) {
      if (existing.amount.amount !== amount.total || existing.subject !== b.description)
        return fail(400, 'OUT_TRADE_NO_USED', '商户订单号重复');
      switch (existing.status) {
        case 'pending':
          return { status: 200, body: { code_url: codeUrl(existing) } };
        case 'succeeded':
          return fail(400, 'ORDERPAID', '该订单已支付');
        case 'closed':
          return fail(400, 'ORDER_CLOSED', '订单已关闭');
        case 'failed':
          return fail(400, 'TRADE_ERROR', '交易错误');
        default: {
          const never: never = existing.status;
          throw new Error(`unknown trade status ${String(never)}`);
        }
      }
    }
    await bank.create({
      outTradeNo,
      amount: { amount: amount.total, currency: 'CNY' },
      subject: b.description,
      method: 'wechat_native',
      payer,
      notifyUrl: b.notify_url,
    });
    const trade = bank.trade(outTradeNo);
    if (trade === undefined) return fail(500, 'SYSTEM_ERROR', '系统错误');
    return { status: 200, body: { code_url: codeUrl(trade) } };
  };

  const queryOrder = (outTradeNo: string, mchid: unknown): Answer => {
    if (mchid !== opts.mchid) return fail(400, 'PARAM_ERROR', 'mchid不正确');
    const t = bank.trade(outTradeNo);
    return t === undefined
      ? fail(404, 'ORDER_NOT_EXIST', '订单不存在')
      : { status: 200, body: transactionJson(t, opts, nowSec() * 1000) };
  };

  const closeOrder = async (outTradeNo: string, body: string): Promise<Answer> => {
    const b = jsonBody(body);
    if (b?.mchid !== opts.mchid) return fail(400, 'PARAM_ERROR', 'mchid不正确');
    const t = bank.trade(outTradeNo);
    if (t === undefined) return fail(404, 'ORDER_NOT_EXIST', '订单不存在');
    if (t.status === 'succeeded') return fail(400, 'ORDERPAID', '该订单已支付');
    await bank.close(outTradeNo);
    return { status: 204 };
  };

  const applyRefund = async (body: string): Promise<Answer> => {
    const b = jsonBody(body);
    if (b === undefined) return fail(400, 'PARAM_ERROR', '请求体不是合法的JSON对象');
    const amount = b.amount;
    if (typeof b.out_trade_no !== 'string' || !OUT_TRADE_NO.test(b.out_trade_no))
      return fail(400, 'PARAM_ERROR', 'out_trade_no格式错误');
    if (typeof b.out_refund_no !== 'string' || !OUT_REFUND_NO.test(b.out_refund_no))
      return fail(400, 'PARAM_ERROR', 'out_refund_no格式错误');
    if (!isObj(amount) || !isFen(amount.refund) || !isFen(amount.total) || amount.currency !== 'CNY')
      return fail(400, 'PARAM_ERROR', 'amount格式错误');
    const outRefundNo = b.out_refund_no;
    const known = bank.refundByOutRefundNo(outRefundNo);
    if (known !== undefined) {
      if (known.trade.outTradeNo !== b.out_trade_no || known.amount !== amount.refund)
        return fail(400, 'INVALID_REQUEST', '退款单号已使用，且请求参数与之前不一致');
      return {
        status: 200,
        body: refundJson(known.trade, outRefundNo, known.refundNo, known.amount, 'SUCCESS', nowSec() * 1000),
      };
    }
    const t = bank.trade(b.out_trade_no);
    if (t === undefined) return fail(404, 'RESOURCE_NOT_EXISTS', '订单不存在');
    if (t.amount.amount !== amount.total) return fail(400, 'INVALID_REQUEST', '订单金额与实际订单金额不一致');
    if (t.status !== 'succeeded') return fail(400, 'INVALID_REQUEST', '订单未支付，不能退款');
    const r = await bank.refund({
      outTradeNo: t.outTradeNo,
      outRefundNo,
      amount: { amount: amount.refund, currency: 'CNY' },
      reason: typeof b.reason === 'string' ? b.reason : '',
    });
    if (r.status !== 'succeeded' || r.gatewayRefundNo === undefined) {
      return fail(
        400,
        'INVALID_REQUEST',
        r.failureCode === 'REFUND_AMOUNT_EXCEEDED' ? '申请退款金额超过订单可退金额' : '订单状态不允许退款',
      );
    }
    // Like the platform, the application answers "processing"; the query shows the outcome.
    return {
      status: 200,
      body: refundJson(t, outRefundNo, r.gatewayRefundNo, amount.refund, 'PROCESSING', nowSec() * 1000),
    };
  };

  const queryRefund = (outRefundNo: string): Answer => {
    const known = bank.refundByOutRefundNo(outRefundNo);
    return known === undefined
      ? fail(404, 'RESOURCE_NOT_EXISTS', '退款单不存在')
      : {
          status: 200,
          body: refundJson(known.trade, outRefundNo, known.refundNo, known.amount, 'SUCCESS', nowSec() * 1000),
        };
  };

  /** Authenticate, then run the handler; any failure of the order book is the platform's 500. */
  const guarded =
    (handler: (req: FastifyRequest, body: string) => Answer | Promise<Answer>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const body = typeof req.body === 'string' ? req.body : '';
      const refused = authenticate(req, body);
      if (refused !== undefined) return send(reply, refused);
      let answer: Answer;
      try {
        answer = await handler(req, body);
      } catch {
        answer = fail(500, 'SYSTEM_ERROR', '系统错误，请稍后重试');
      }
      return send(reply, answer);
    };

  // Trade bills: GET /v3/bill/tradebill answers a download URL and the SHA1 of the bill (of the
  // bill itself, before any gzip); the download is signed by us like any call, its answer is not.
  const bills = new DownloadTokens(() => nowSec() * 1000);
  const tradeBill = (req: FastifyRequest): Answer => {
    const q = req.query as Record<string, string | undefined>;
    const date = q.bill_date ?? '';
    const billType = (q.bill_type ?? 'ALL') as WechatBillType;
    if (!isBusinessDate(date)) return fail(400, 'PARAM_ERROR', 'bill_date 格式应为 YYYY-MM-DD');
    if (!WECHAT_BILL_TYPES.includes(billType)) return fail(400, 'PARAM_ERROR', 'bill_type 应为 ALL、SUCCESS 或 REFUND');
    if (q.tar_type !== undefined && q.tar_type !== 'GZIP') return fail(400, 'PARAM_ERROR', 'tar_type 只支持 GZIP');
    if (!billDayStarted(date, nowSec() * 1000)) return fail(400, 'NO_STATEMENT_EXIST', '账单文件不存在');
    const bill = writeWechatBill(bank.statementEntries(date), { billType, appid: opts.appid, mchid: opts.mchid });
    const token = bills.issue(q.tar_type === 'GZIP' ? gzipSync(bill) : bill, 300_000);
    const host = req.headers.host ?? 'api.mch.weixin.qq.com';
    return {
      status: 200,
      body: {
        hash_type: 'SHA1',
        hash_value: createHash('sha1').update(bill).digest('hex'),
        download_url: `${req.protocol}://${host}${prefix}/v3/billdownload/file?token=${token}`,
      },
    };
  };
  const downloadBill = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const refused = authenticate(req, '');
    if (refused !== undefined) return send(reply, refused);
    const file = bills.take((req.query as Record<string, string | undefined>).token ?? '');
    if (file === undefined) return send(reply, fail(400, 'INVALID_REQUEST', '下载链接已过期或不存在'));
    return reply.code(200).type('application/octet-stream').send(Buffer.from(file));
  };

  const param = (req: FastifyRequest, name: string): string => {
    const p = req.params as Record<string, string | undefined>;
    return p[name] ?? '';
  };

  void app.register((face, _o, done) => {
    // Signatures cover the exact bytes: keep bodies as received text, whatever their content type.
    face.removeAllContentTypeParsers();
    face.addContentTypeParser('*', { parseAs: 'string' }, (_req, text, next) => {
      next(null, text);
    });
    face.post(
      `${prefix}/v3/pay/transactions/native`,
      guarded((_req, body) => nativeOrder(body)),
    );
    face.get(
      `${prefix}/v3/pay/transactions/out-trade-no/:outTradeNo`,
      guarded((req) => queryOrder(param(req, 'outTradeNo'), (req.query as Json).mchid)),
    );
    face.post(
      `${prefix}/v3/pay/transactions/out-trade-no/:outTradeNo/close`,
      guarded((req, body) => closeOrder(param(req, 'outTradeNo'), body)),
    );
    face.post(
      `${prefix}/v3/refund/domestic/refunds`,
      guarded((_req, body) => applyRefund(body)),
    );
    face.get(
      `${prefix}/v3/refund/domestic/refunds/:outRefundNo`,
      guarded((req) => queryRefund(param(req, 'outRefundNo'))),
    );
    face.get(
      `${prefix}/v3/bill/tradebill`,
      guarded((req) => tradeBill(req)),
    );
    face.get(`${prefix}/v3/billdownload/file`, downloadBill);
    done();
  });
}

/** What the payer's WeChat scans: stable per trade, so a repeated create answers the same code. */
function codeUrl(t: SimTrade): string {
  return `weixin://wxpay/bizpayurl?pr=${Buffer.from(t.tradeNo).toString('base64url')}`;
}
