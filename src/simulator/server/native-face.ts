import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Currency, isCurrency, MAX_AMOUNT_MINOR } from '../../domain/money.js';
import {
  GatewayUnknownOutcomeError,
  type GatewayPaymentResult,
  type GatewayRefundResult,
} from '../../ports/payment-gateway.js';
import { MerchantUnknownOutcomeError, type MerchantOrderResult } from '../../ports/merchant.js';
import type { SimEvent } from '../simulated-gateway.js';
import { NativeAuthenticator } from './native-auth.js';
import type { FaceContext, SimulatorFace } from './simulator-server.js';

export interface NativeFaceOptions {
  /** The shared secret requests are signed with (and answers signed back). */
  readonly secret: string;
  /** Methods this face sends callbacks for when a trade's creator is unknown (default: wallet). */
  readonly methods?: readonly string[];
  /** Allowed clock skew for request timestamps, ms (default 300 s). */
  readonly windowMs?: number;
}

/** Every native path starts here. */
export const NATIVE_PREFIX = '/native/v1';

const id = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, '1–64 characters of A-Z a-z 0-9 _ . : -');
const money = {
  amount: z.number().int().positive().max(MAX_AMOUNT_MINOR),
  currency: z.custom<Currency>((v) => isCurrency(v), 'unknown currency'),
};
const url = z.string().url().max(512).optional();

const createSchema = z
  .object({
    out_trade_no: id,
    ...money,
    subject: z.string().max(256),
    method: z.string().min(1).max(32),
    payer: z.string().min(1).max(64),
    notify_url: url,
  })
  .strict();
const refundSchema = z
  .object({ out_trade_no: id, out_refund_no: id, ...money, reason: z.string().max(256), notify_url: url })
  .strict();
const merchantOrderSchema = z
  .object({
    idempotency_key: z.string().min(1).max(255),
    order_id: z.string().min(1).max(64),
    drink: z.string().min(1).max(64),
    size: z.string().min(1).max(32),
    quantity: z.number().int().min(1).max(100),
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

function paymentView(r: GatewayPaymentResult): Record<string, unknown> {
  return {
    status: r.status,
    out_trade_no: r.outTradeNo,
    ...(r.gatewayTradeNo === undefined ? {} : { trade_no: r.gatewayTradeNo }),
    ...(r.amount === undefined ? {} : { amount: r.amount.amount, currency: r.amount.currency }),
    ...(r.failureCode === undefined ? {} : { failure_code: r.failureCode }),
    ...(r.payUrl === undefined ? {} : { pay_url: r.payUrl }),
  };
}

function refundView(r: GatewayRefundResult): Record<string, unknown> {
  return {
    status: r.status,
    out_refund_no: r.outRefundNo,
    ...(r.gatewayRefundNo === undefined ? {} : { refund_no: r.gatewayRefundNo }),
    ...(r.amount === undefined ? {} : { amount: r.amount.amount, currency: r.amount.currency }),
    ...(r.failureCode === undefined ? {} : { failure_code: r.failureCode }),
  };
}

function merchantView(r: MerchantOrderResult): Record<string, unknown> {
  return {
    status: r.status,
    ...(r.merchantOrderId === undefined ? {} : { merchant_order_id: r.merchantOrderId }),
    ...(r.reason === undefined ? {} : { reason: r.reason }),
  };
}

interface NativeRequest extends FastifyRequest {
  rawBody: string;
  authNonce: string;
}

const fail = (reply: FastifyReply, status: number, code: string, message: string): FastifyReply =>
  reply.code(status).send({ code, message });

/**
 * The simulator's own JSON protocol over HTTP: payments, refunds and close against the order
 * book, and orders to the coffee shop, every request signed with the shared secret (see
 * native-auth.ts) and every answer signed back. Amounts are integer minor units.
 * Callbacks use the order book's own signed format (`SimulatedGateway.notificationFor`).
 */
export function nativeFace(options: NativeFaceOptions): SimulatorFace {
  let context: FaceContext | undefined;
  return {
    name: 'native',
    register(app: FastifyInstance, ctx) {
      context = ctx;
      const auth = new NativeAuthenticator(options.secret, ctx.now, options.windowMs);
      const { bank, merchant } = ctx;

      app.decorateRequest('rawBody', '');
      app.decorateRequest('authNonce', '');
      // The signature covers the exact bytes, so keep them before parsing.
      app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
        (req as NativeRequest).rawBody = body as string;
        try {
          done(null, body === '' ? {} : JSON.parse(body as string));
        } catch {
          const e = new Error('the body is not JSON') as Error & { statusCode: number; code: string };
          e.statusCode = 400;
          e.code = 'MALFORMED_JSON';
          done(e, undefined);
        }
      });
      app.addHook('preHandler', async (req, reply) => {
        const r = req as NativeRequest;
        const verdict = auth.verify(req.method, req.url, r.rawBody, req.headers.authorization);
        r.authNonce = verdict.nonce;
        if (!verdict.ok) return fail(reply, 401, verdict.code, 'request authentication failed');
      });
      app.addHook('onSend', async (req, reply, payload) => {
        const body = typeof payload === 'string' ? payload : '';
        reply.headers(auth.signAnswer(reply.statusCode, body, (req as NativeRequest).authNonce));
        return payload;
      });
      app.setErrorHandler((e: Error & { statusCode?: number; code?: string }, _req, reply) => {
        if (e instanceof GatewayUnknownOutcomeError || e instanceof MerchantUnknownOutcomeError)
          return fail(reply, 503, 'SYSTEM_ERROR', e.message);
        const status = e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
        return fail(
          reply,
          status,
          status === 500 ? 'INTERNAL' : (e.code ?? 'BAD_REQUEST'),
          status === 500 ? 'simulator error' : e.message,
        );
      });

      const parse = <T>(schema: z.ZodType<T>, body: unknown, reply: FastifyReply): T | undefined => {
        const p = schema.safeParse(body);
        if (p.success) return p.data;
        void fail(
          reply,
          400,
          'VALIDATION_FAILED',
          p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
        );
        return undefined;
      };

      app.post(`${NATIVE_PREFIX}/payments`, async (req, reply) => {
        const b = parse(createSchema, req.body, reply);
        if (b === undefined) return reply;
        const r = await bank.create({
          outTradeNo: b.out_trade_no,
          amount: { amount: b.amount, currency: b.currency },
          subject: b.subject,
          method: b.method,
          payer: b.payer,
          ...(b.notify_url === undefined ? {} : { notifyUrl: b.notify_url }),
        });
        return paymentView(r);
      });

      app.get<{ Params: { outTradeNo: string } }>(`${NATIVE_PREFIX}/payments/:outTradeNo`, async (req, reply) => {
        const r = await bank.query(req.params.outTradeNo);
        return r.status === 'not_found' ? fail(reply, 404, 'TRADE_NOT_FOUND', 'no such payment') : paymentView(r);
      });

      app.post<{ Params: { outTradeNo: string } }>(
        `${NATIVE_PREFIX}/payments/:outTradeNo/close`,
        async (req, reply) => {
          const r = await bank.close(req.params.outTradeNo);
          return r.status === 'not_found' ? fail(reply, 404, 'TRADE_NOT_FOUND', 'no such payment') : paymentView(r);
        },
      );

      // The day's trade bill of the order book (the Alipay layout), base64 in the signed JSON answer.
      app.get<{ Params: { date: string } }>(`${NATIVE_PREFIX}/statements/:date`, async (req, reply) => {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(req.params.date))
          return fail(reply, 400, 'VALIDATION_FAILED', 'date must be YYYY-MM-DD');
        try {
          const file = await bank.statement(req.params.date);
          return { format: file.format, name: file.name, content_base64: Buffer.from(file.bytes).toString('base64') };
        } catch {
          return fail(reply, 400, 'VALIDATION_FAILED', 'date is not a calendar day');
        }
      });

      app.post(`${NATIVE_PREFIX}/refunds`, async (req, reply) => {
        const b = parse(refundSchema, req.body, reply);
        if (b === undefined) return reply;
        const r = await bank.refund({
          outTradeNo: b.out_trade_no,
          outRefundNo: b.out_refund_no,
          amount: { amount: b.amount, currency: b.currency },
          reason: b.reason,
          ...(b.notify_url === undefined ? {} : { notifyUrl: b.notify_url }),
        });
        return refundView(r);
      });

      app.get<{ Params: { outTradeNo: string; outRefundNo: string } }>(
        `${NATIVE_PREFIX}/payments/:outTradeNo/refunds/:outRefundNo`,
        async (req, reply) => {
          const r = await bank.queryRefund(req.params.outTradeNo, req.params.outRefundNo);
          return r.status === 'not_found' ? fail(reply, 404, 'REFUND_NOT_FOUND', 'no such refund') : refundView(r);
        },
      );

      app.post(`${NATIVE_PREFIX}/merchant/orders`, async (req, reply) => {
        const b = parse(merchantOrderSchema, req.body, reply);
        if (b === undefined) return reply;
        const r = await merchant.submit({
          idempotencyKey: b.idempotency_key,
          orderId: b.order_id,
          drink: b.drink,
          size: b.size,
          quantity: b.quantity,
          options: b.options,
        });
        return merchantView(r);
      });

      app.get<{ Params: { key: string } }>(`${NATIVE_PREFIX}/merchant/orders/:key`, async (req, reply) => {
        const r = await merchant.query(req.params.key);
        return r.status === 'not_found' ? fail(reply, 404, 'ORDER_NOT_FOUND', 'no such order') : merchantView(r);
      });
    },
    notifications: {
      methods: options.methods ?? ['wallet'],
      format(e: SimEvent) {
        // The server registers a face before any event can reach its notifier.
        if (context === undefined) throw new Error('native face: not registered');
        return context.bank.notificationFor(e, Math.floor(context.now() / 1000));
      },
    },
  };
}
