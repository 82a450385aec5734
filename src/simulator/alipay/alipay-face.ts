import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayUnknownOutcomeError } from '../../ports/payment-gateway.js';
import type { SimTrade, SimulatedGateway } from '../simulated-gateway.js';
import { isBusinessDate } from '../../domain/statements/shanghai-time.js';
import { writeAlipayBill } from '../statements/alipay-bill-writer.js';
import { DownloadTokens, billDayStarted } from '../statements/download-tokens.js';
import {
  asPrivateKey,
  asPublicKey,
  fenOf,
  type KeyInput,
  alipayTime,
  sha256WithRsaValid,
  signedResponse,
  signingText,
  yuanOf,
} from './alipay-protocol.js';

export interface AlipayFaceOptions {
  /** The merchant app the face serves; requests for any other app_id are refused. */
  readonly appId: string;
  /** The merchant app's public key: requests must be signed with its private key. */
  readonly appPublicKey: KeyInput;
  /** The simulated Alipay's own private key, which signs every response and notification. */
  readonly alipayPrivateKey: KeyInput;
  /** Where the openapi gateway listens; defaults to `/gateway.do`. */
  readonly path?: string;
  /** The order-book method a precreate opens (put it in the bank's payerActionMethods to wait for the payer). */
  readonly method?: string;
  /** Whose balance pays a scanned QR code. */
  readonly payer?: string;
  readonly sellerId?: string;
  readonly now?: () => number;
  /** The merchant's Alipay account (PID) its trade bills are for. */
  readonly account?: string;
}

type Fields = Map<string, string>;
type Node = Record<string, string>;

/** A business answer and the HTTP-level parts the face fills in. */
interface Answer {
  readonly node: Node;
}

const SUCCESS = { code: '10000', msg: 'Success' } as const;
const fail = (subCode: string, subMsg: string): Answer => ({
  node: { code: '40004', msg: 'Business Failed', sub_code: subCode, sub_msg: subMsg },
});
const invalid = (subCode: string, subMsg: string): Answer => ({
  node: { code: '40002', msg: 'Invalid Arguments', sub_code: subCode, sub_msg: subMsg },
});

const METHODS = [
  'alipay.trade.precreate',
  'alipay.trade.query',
  'alipay.trade.refund',
  'alipay.trade.fastpay.refund.query',
  'alipay.trade.close',
  'alipay.data.dataservice.bill.downloadurl.query',
] as const;
type Method = (typeof METHODS)[number];
const isMethod = (m: string): m is Method => (METHODS as readonly string[]).includes(m);

const OUT_NO = /^[A-Za-z0-9_-]{1,64}$/;

/** Alipay's view of an order-book trade: a fully refunded trade reads as closed. */
export function alipayTradeStatus(t: SimTrade): string {
  switch (t.status) {
    case 'pending':
      return 'WAIT_BUYER_PAY';
    case 'succeeded':
      return t.refunded >= t.amount.amount ? 'TRADE_CLOSED' : 'TRADE_SUCCESS';
    case 'failed':
    case 'closed':
      return 'TRADE_CLOSED';
    default: {
      const never: never = t.status;
      throw new Error(`unknown trade status ${String(never)}`);
    }
  }
}

/**
 * The simulated Alipay openapi gateway (v2, RSA2) over the shared order book: precreate opens a
 * QR trade that the simulated payer pays later (`bank.payPending`), query / refund / refund query
 * / close act on the same book. Our requests are verified with the app's public key; answers are
 * signed with the face's own key. Registered in its own Fastify scope so its form parser does not
 * collide with other faces'.
 */
export function registerAlipayFace(app: FastifyInstance, bank: SimulatedGateway, opts: AlipayFaceOptions): void {
  const appKey = asPublicKey(opts.appPublicKey);
  const ownKey = asPrivateKey(opts.alipayPrivateKey);
  const method = opts.method ?? 'alipay_qr';
  const payer = opts.payer ?? 'alipay-buyer';
  const now = opts.now ?? Date.now;

  const send = (reply: FastifyReply, nodeKey: string, answer: Answer): FastifyReply =>
    reply
      .code(200)
      .type('application/json;charset=utf-8')
      .send(signedResponse(nodeKey, answer.node, ownKey));

  const precreate = async (biz: Record<string, unknown>, fields: Fields): Promise<Answer> => {
    const outTradeNo = biz.out_trade_no;
    const totalAmount = biz.total_amount;
    const subject = biz.subject;
    if (typeof outTradeNo !== 'string' || !OUT_NO.test(outTradeNo))
      return fail('ACQ.INVALID_PARAMETER', 'out_trade_no is missing or invalid');
    const fen = typeof totalAmount === 'string' ? fenOf(totalAmount) : undefined;
    if (fen === undefined) return fail('ACQ.TOTAL_FEE_EXCEED', 'total_amount must be 0.01 to 100000000.00 yuan');
    if (typeof subject !== 'string' || subject === '') return fail('ACQ.INVALID_PARAMETER', 'subject is required');
    const existing = bank.trade(outTradeNo);
    if (existing !== undefined) {
      if (existing.status === 'succeeded') return fail('ACQ.TRADE_HAS_SUCCESS', 'the trade has been paid');
      if (existing.status !== 'pending') return fail('ACQ.TRADE_HAS_CLOSE', 'the trade is closed');
      if (existing.amount.amount !== fen)
        return fail('ACQ.CONTEXT_INCONSISTENT', 'the trade exists with other details');
    }
    const notifyUrl = fields.get('notify_url');
    const created = await bank.create({
      outTradeNo,
      amount: { amount: fen, currency: 'CNY' },
      subject,
      method,
      payer,
      ...(notifyUrl === undefined || notifyUrl === '' ? {} : { notifyUrl }),
    });
    if (created.status === 'failed') {
      return created.failureCode === 'INSUFFICIENT_FUNDS'
        ? fail('ACQ.BUYER_BALANCE_NOT_ENOUGH', 'insufficient balance')
        : fail('ACQ.PAYMENT_FAIL', 'the payment failed');
    }
    return {
      node: {
        ...SUCCESS,
        out_trade_no: outTradeNo,
        // The order book's pay page when it serves one (the standalone simulator does), so a person
        // scanning the code can pay in a browser; else the shape of Alipay's own codes.
        qr_code: created.payUrl ?? `https://qr.alipay.com/${created.gatewayTradeNo ?? outTradeNo}`,
      },
    };
  };

  const tradeOf = (biz: Record<string, unknown>): SimTrade | Answer => {
    const outTradeNo = biz.out_trade_no;
    if (typeof outTradeNo !== 'string' || !OUT_NO.test(outTradeNo))
      return fail('ACQ.INVALID_PARAMETER', 'out_trade_no is missing or invalid');
    return bank.trade(outTradeNo) ?? fail('ACQ.TRADE_NOT_EXIST', 'the trade does not exist');
  };

  const query = async (biz: Record<string, unknown>): Promise<Answer> => {
    const t = tradeOf(biz);
    if ('node' in t) return t;
    await bank.query(t.outTradeNo);
    const paid = t.status === 'succeeded';
    return {
      node: {
        ...SUCCESS,
        trade_no: t.tradeNo,
        out_trade_no: t.outTradeNo,
        trade_status: alipayTradeStatus(t),
        total_amount: yuanOf(t.amount.amount),
        ...(paid ? { buyer_pay_amount: yuanOf(t.amount.amount), buyer_logon_id: 'buy***@example.com' } : {}),
      },
    };
  };

  const refund = async (biz: Record<string, unknown>): Promise<Answer> => {
    const t = tradeOf(biz);
    if ('node' in t) return t;
    const refundAmount = biz.refund_amount;
    const fen = typeof refundAmount === 'string' ? fenOf(refundAmount) : undefined;
    if (fen === undefined) return fail('ACQ.INVALID_PARAMETER', 'refund_amount must be a yuan amount');
    // Without out_request_no Alipay treats the call as the trade's one full refund.
    const requestNo =
      typeof biz.out_request_no === 'string' && biz.out_request_no !== '' ? biz.out_request_no : t.outTradeNo;
    if (!OUT_NO.test(requestNo)) return fail('ACQ.INVALID_PARAMETER', 'out_request_no is invalid');
    const known = t.refunds.has(requestNo);
    const reason = typeof biz.refund_reason === 'string' ? biz.refund_reason : '';
    const r = await bank.refund({
      outTradeNo: t.outTradeNo,
      outRefundNo: requestNo,
      amount: { amount: fen, currency: 'CNY' },
      reason,
    });
    if (r.status !== 'succeeded') {
      if (r.failureCode === 'REFUND_AMOUNT_EXCEEDED')
        return fail('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', 'the refund exceeds what is left to refund');
      return fail('ACQ.TRADE_STATUS_ERROR', 'the trade cannot be refunded in its state');
    }
    return {
      node: {
        ...SUCCESS,
        trade_no: t.tradeNo,
        out_trade_no: t.outTradeNo,
        buyer_logon_id: 'buy***@example.com',
        fund_change: known ? 'N' : 'Y',
        refund_fee: yuanOf(t.refunded),
        send_back_fee: yuanOf(r.amount?.amount ?? fen),
        gmt_refund_pay: alipayTime(now()),
      },
    };
  };

  const refundQuery = async (biz: Record<string, unknown>): Promise<Answer> => {
    const t = tradeOf(biz);
    if ('node' in t) return t;
    const requestNo =
      typeof biz.out_request_no === 'string' && biz.out_request_no !== '' ? biz.out_request_no : t.outTradeNo;
    const r = await bank.queryRefund(t.outTradeNo, requestNo);
    // An unknown refund is a success with no refund fields, as Alipay answers it.
    if (r.status === 'not_found' || r.amount === undefined)
      return { node: { ...SUCCESS, trade_no: t.tradeNo, out_trade_no: t.outTradeNo } };
    return {
      node: {
        ...SUCCESS,
        trade_no: t.tradeNo,
        out_trade_no: t.outTradeNo,
        out_request_no: requestNo,
        total_amount: yuanOf(t.amount.amount),
        refund_amount: yuanOf(r.amount.amount),
        refund_status: 'REFUND_SUCCESS',
      },
    };
  };

  const close = async (biz: Record<string, unknown>): Promise<Answer> => {
    const t = tradeOf(biz);
    if ('node' in t) return t;
    if (t.status !== 'pending') return fail('ACQ.TRADE_STATUS_ERROR', 'only a trade waiting for payment can be closed');
    await bank.close(t.outTradeNo);
    return { node: { ...SUCCESS, trade_no: t.tradeNo, out_trade_no: t.outTradeNo } };
  };

  // Trade bills: the query answers a download URL good for 30 s, as Alipay's is.
  const bills = new DownloadTokens(now);
  const path = opts.path ?? '/gateway.do';
  const downloadPath = `${path.replace(/\/[^/]*$/, '')}/downloadBillFile.resource`;
  const billUrl = (biz: Record<string, unknown>, origin: string): Answer => {
    const date = biz.bill_date;
    if (biz.bill_type !== 'trade') return invalid('isv.invalid-bill-type', 'the face gives trade bills only');
    if (typeof date !== 'string' || !isBusinessDate(date))
      return invalid('isv.invalid-bill-date', 'bill_date must be yyyy-MM-dd');
    if (!billDayStarted(date, now())) return fail('isp.bill_not_exist', '账单不存在');
    const zip = writeAlipayBill(bank.statementEntries(date), {
      account: opts.account ?? '2088000000000000',
      date,
      exportedAt: now(),
    });
    const token = bills.issue(zip, 30_000);
    return {
      node: {
        ...SUCCESS,
        bill_download_url:
          `${origin}${downloadPath}?bizType=trade&bizDates=${date.replace(/-/g, '')}` +
          `&fileType=csv.zip&token=${token}`,
      },
    };
  };

  const dispatch = (m: Method, biz: Record<string, unknown>, fields: Fields, origin: string): Promise<Answer> => {
    switch (m) {
      case 'alipay.trade.precreate':
        return precreate(biz, fields);
      case 'alipay.trade.query':
        return query(biz);
      case 'alipay.trade.refund':
        return refund(biz);
      case 'alipay.trade.fastpay.refund.query':
        return refundQuery(biz);
      case 'alipay.trade.close':
        return close(biz);
      case 'alipay.data.dataservice.bill.downloadurl.query':
        return Promise.resolve(billUrl(biz, origin));
      default: {
        const never: never = m;
        throw new Error(`unknown method ${String(never)}`);
      }
    }
  };

  const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const fields = collectFields(request);
    if (fields === undefined)
      return send(
        reply,
        'error_response',
        invalid('isv.invalid-parameter', 'a parameter is given twice with different values'),
      );
    const m = fields.get('method') ?? '';
    if (m === '')
      return send(reply, 'error_response', {
        node: {
          code: '40001',
          msg: 'Missing Required Arguments',
          sub_code: 'isv.missing-method',
          sub_msg: 'method is required',
        },
      });
    if (!isMethod(m))
      return send(reply, 'error_response', invalid('isv.invalid-method', 'the face does not offer this method'));
    const key = `${m.replace(/\./g, '_')}_response`;
    const refused = checkCommon(fields, opts.appId);
    if (refused !== undefined) return send(reply, key, refused);
    if (!sha256WithRsaValid(signingText(fields, new Set(['sign'])), fields.get('sign') ?? '', appKey)) {
      return send(
        reply,
        key,
        invalid('isv.invalid-signature', 'the request signature does not verify with the app public key'),
      );
    }
    let biz: unknown;
    try {
      biz = JSON.parse(fields.get('biz_content') ?? '');
    } catch {
      biz = undefined;
    }
    if (typeof biz !== 'object' || biz === null || Array.isArray(biz))
      return send(reply, key, invalid('isv.invalid-parameter', 'biz_content must be a JSON object'));
    try {
      const origin = `${request.protocol}://${request.headers.host ?? 'openapi.alipay.com'}`;
      return send(reply, key, await dispatch(m, biz as Record<string, unknown>, fields, origin));
    } catch (e) {
      // The order book's own chaos: before or after the effect, the gateway cannot say.
      if (e instanceof GatewayUnknownOutcomeError)
        return send(reply, key, {
          node: {
            code: '20000',
            msg: 'Service Currently Unavailable',
            sub_code: 'isp.unknow-error',
            sub_msg: 'system busy',
          },
        });
      throw e;
    }
  };

  void app.register((scope, _options, done) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, parsed) => {
      parsed(null, [...new URLSearchParams(body as string)]);
    });
    scope.post(path, handle);
    // The download itself is neither signed nor authenticated: its token is the secret.
    scope.get(downloadPath, async (request, reply) => {
      const file = bills.take((request.query as Record<string, string | undefined>).token ?? '');
      if (file === undefined) return reply.code(404).type('text/plain').send('the download link has expired');
      return reply
        .code(200)
        .type('application/zip')
        .header('content-disposition', 'attachment; filename="bill.csv.zip"')
        .send(Buffer.from(file));
    });
    done();
  });
}

/** URL query and form body together, as the gateway reads them; undefined on a contradiction. */
function collectFields(request: FastifyRequest): Fields | undefined {
  const fields: Fields = new Map();
  const query = request.query as Record<string, unknown>;
  const body = Array.isArray(request.body) ? (request.body as Array<[string, string]>) : [];
  const entries: Array<[string, unknown]> = [...Object.entries(query), ...body];
  for (const [k, v] of entries) {
    if (typeof v !== 'string') return undefined;
    const had = fields.get(k);
    if (had !== undefined && had !== v) return undefined;
    fields.set(k, v);
  }
  return fields;
}

/** The common parameters every call carries; an answer when one is wrong. */
function checkCommon(fields: Fields, appId: string): Answer | undefined {
  const appIdGiven = fields.get('app_id');
  if (appIdGiven === undefined || appIdGiven === '')
    return {
      node: {
        code: '40001',
        msg: 'Missing Required Arguments',
        sub_code: 'isv.missing-app-id',
        sub_msg: 'app_id is required',
      },
    };
  if (appIdGiven !== appId) return invalid('isv.invalid-app-id', 'no such app');
  if (fields.get('sign') === undefined)
    return {
      node: {
        code: '40001',
        msg: 'Missing Required Arguments',
        sub_code: 'isv.missing-signature',
        sub_msg: 'sign is required',
      },
    };
  if (fields.get('sign_type') !== 'RSA2') return invalid('isv.invalid-signature-type', 'sign_type must be RSA2');
  if ((fields.get('charset') ?? 'utf-8').toLowerCase() !== 'utf-8')
    return invalid('isv.invalid-charset', 'the face speaks utf-8');
  if (fields.get('version') !== '1.0') return invalid('isv.invalid-version', 'version must be 1.0');
  if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(fields.get('timestamp') ?? ''))
    return invalid('isv.invalid-timestamp', 'timestamp must be yyyy-MM-dd HH:mm:ss');
  return undefined;
}
