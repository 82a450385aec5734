import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Caller } from '../../application/kernel/caller.js';
import type { IdempotencyApi } from '../../application/kernel/idempotency.js';
import type { OrderOutcome, OrdersApi } from '../../application/orders/orders-api.js';
import { SIZE_NAMES_ZH, SIZES } from '../../domain/menu.js';
import type { DomainError, Result } from '../../domain/result.js';
import { type HttpResult, idempotent, parseId, problemResult, send, validationResult } from './plumbing/http-result.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { orderViewSchema } from './plumbing/openapi/view-schemas.js';
import { problem, sendProblem } from './plumbing/problem.js';
import {
  cancelBodySchema,
  confirmBodySchema,
  idParamSchema,
  listQuerySchema,
  orderBodySchema,
  paymentBodySchema,
} from './plumbing/validation.js';

function outcomeResult(
  req: FastifyRequest,
  outcome: Result<OrderOutcome, DomainError & { errors?: readonly DomainError[] }>,
): HttpResult {
  if (!outcome.ok) return problemResult(req, outcome.error);
  const o = outcome.value;
  const location = { location: `/api/v1/orders/${o.order.id}` };
  switch (o.kind) {
    case 'completed': {
      const minimal = /(?:^|[;,\s])return=minimal(?:$|[;,\s])/i.test(String(req.headers.prefer ?? ''));
      if (minimal)
        return {
          status: 204,
          body: null,
          headers: { ...location, 'preference-applied': 'return=minimal' },
          store: true,
        };
      return { status: 201, body: { order: o.order }, headers: location, store: true };
    }
    case 'accepted':
      return { status: 202, body: { order: o.order, next: o.next }, headers: location, store: true };
    case 'payment_failed':
      return {
        status: 402,
        body: problem('PAYMENT_DECLINED', o.order.status_reason ?? 'the payment was declined', req.id, {
          order: o.order,
        }),
        headers: { ...location, 'content-type': 'application/problem+json; charset=utf-8' },
        store: true,
      };
    default: {
      const never: never = o;
      throw new Error(`unknown outcome ${JSON.stringify(never)}`);
    }
  }
}

const LOCATION = { Location: 'the order: GET it for where it stands' };
const order = z.object({ order: orderViewSchema });
/** What placing, confirming or paying for an order answers. */
const ORDER_OUTCOMES = {
  201: { description: 'paid and completed', body: order, headers: LOCATION },
  202: {
    description: 'placed and not paid yet (awaiting confirmation), or paying: `next` says what to do',
    body: z.object({ order: orderViewSchema, next: z.string() }),
    headers: LOCATION,
  },
  204: {
    description: 'completed, with `Prefer: return=minimal`',
    headers: { ...LOCATION, 'Preference-Applied': 'return=minimal' },
  },
} as const;
const PREFER = { Prefer: '`return=minimal`: a completed order answers 204 with no body' };

/** What each route says of itself in the OpenAPI document (GET /openapi.json, GET /docs). */
const DOCS = {
  place: {
    summary: 'Order a coffee',
    description:
      'Places the order and, when the policy lets it run (auto-confirm, within limits), pays for it at once. ' +
      'Otherwise the order waits for `POST /api/v1/orders/{id}/confirm`.',
    tags: ['orders'],
    body: orderBodySchema,
    example: { drink: 'latte', size: 'large', quantity: 2, options: { temperature: 'iced', milk: 'oat' } },
    idempotent: true,
    headers: PREFER,
    responses: ORDER_OUTCOMES,
    errors: [
      'UNKNOWN_DRINK',
      'UNKNOWN_SIZE',
      'UNKNOWN_OPTION',
      'INVALID_QUANTITY',
      'AMOUNT_TOO_LARGE',
      'POLICY_AMOUNT_CAP_EXCEEDED',
      'DAILY_LIMIT_EXCEEDED',
      'PAYMENT_DECLINED',
      'GATEWAY_UNAVAILABLE',
    ],
  },
  menu: {
    summary: 'The menu',
    description: 'Drinks with their prices per size and the surcharges, in minor units.',
    tags: ['orders'],
    responses: {
      200: {
        description: 'the menu',
        body: z.object({
          currency: z.string(),
          sizes: z.array(z.object({ id: z.string(), name_zh: z.string() })),
          drinks: z.array(
            z.object({
              id: z.string(),
              name_zh: z.string(),
              name_en: z.string(),
              iced: z.boolean(),
              prices: z.record(z.string(), z.number().int()),
            }),
          ),
          surcharges: z.record(z.string(), z.number().int()),
        }),
      },
    },
  },
  get: {
    summary: 'One order',
    tags: ['orders'],
    params: idParamSchema,
    responses: { 200: { description: 'the order', body: order } },
    errors: ['ORDER_NOT_FOUND'],
  },
  audit: {
    summary: 'An order’s audit trail',
    description: 'Who did what to the order and when, oldest first, with the state before and after.',
    tags: ['orders'],
    params: idParamSchema,
    responses: {
      200: {
        description: 'its audit rows',
        body: z.object({
          data: z.array(
            z.object({
              at: z.iso.datetime(),
              actor: z.string(),
              action: z.string(),
              before: z.unknown(),
              after: z.unknown(),
              request_id: z.string().nullable(),
            }),
          ),
        }),
      },
    },
    errors: ['ORDER_NOT_FOUND'],
  },
  list: {
    summary: 'List orders',
    description: 'Newest first, a page at a time: pass `next_cursor` back as `cursor`. A person sees only their own.',
    tags: ['orders'],
    query: listQuerySchema,
    responses: {
      200: {
        description: 'a page of orders',
        body: z.object({ data: z.array(orderViewSchema), next_cursor: z.string().nullable() }),
      },
    },
  },
  confirm: {
    summary: 'Confirm and pay for an order',
    description:
      'Pays for an order placed without auto-confirm, with its payment method or the one named. Naming another ' +
      'method while a QR payment waits closes that trade at its gateway first, then opens one with the new method.',
    tags: ['orders'],
    params: idParamSchema,
    body: confirmBodySchema,
    bodyOptional: true,
    idempotent: true,
    headers: PREFER,
    responses: ORDER_OUTCOMES,
    errors: [
      'ORDER_NOT_FOUND',
      'ILLEGAL_TRANSITION',
      'INVALID_PAYMENT_METHOD',
      'POLICY_AMOUNT_CAP_EXCEEDED',
      'DAILY_LIMIT_EXCEEDED',
      'PAYMENT_DECLINED',
      'GATEWAY_UNAVAILABLE',
      'TRADE_NOT_CLOSED',
      'CONCURRENT_MODIFICATION',
    ],
  },
  cancel: {
    summary: 'Cancel an order',
    description:
      'Only before it is paid; a paid order is refunded instead. A payment waiting for its payer (a QR code) is ' +
      'closed at its gateway first; if the payer had already paid, the order goes on and the cancel is refused.',
    tags: ['orders'],
    params: idParamSchema,
    body: cancelBodySchema,
    bodyOptional: true,
    idempotent: true,
    responses: { 200: { description: 'the cancelled order', body: order } },
    errors: ['ORDER_NOT_FOUND', 'ILLEGAL_TRANSITION', 'TRADE_NOT_CLOSED', 'CONCURRENT_MODIFICATION'],
  },
  pay: {
    summary: 'Pay for an order',
    description:
      'Submits the payment of an order awaiting one; the amount and currency must be the order’s. Every field ' +
      'is checked by the use case, and all that is wrong is reported at once (`errors`).',
    tags: ['orders'],
    body: paymentBodySchema,
    example: { order_id: 'ord_01J0000000000000000000000', amount: 3600, currency: 'CNY', payment_method: 'wechat_pay' },
    idempotent: true,
    headers: PREFER,
    responses: ORDER_OUTCOMES,
    errors: [
      'ORDER_NOT_FOUND',
      'INVALID_AMOUNT',
      'INVALID_CURRENCY',
      'INVALID_PAYMENT_METHOD',
      'AMOUNT_MISMATCH',
      'ILLEGAL_TRANSITION',
      'POLICY_AMOUNT_CAP_EXCEEDED',
      'DAILY_LIMIT_EXCEEDED',
      'PAYMENT_DECLINED',
      'GATEWAY_UNAVAILABLE',
    ],
  },
} satisfies Record<string, RouteDoc>;

/** Coffee orders. Transport only. */
export function registerOrderRoutes(
  app: FastifyInstance,
  { orders, idempotency }: { readonly orders: OrdersApi; readonly idempotency: IdempotencyApi },
): void {
  const caller = (req: FastifyRequest): Caller => req.caller;

  app.post('/api/v1/order', { config: { permission: 'orders.place', openapi: DOCS.place } }, async (req, reply) => {
    const parsed = orderBodySchema.safeParse(req.body);
    if (!parsed.success) return send(reply, validationResult(req, parsed.error));
    const b = parsed.data;
    return idempotent(idempotency, req, reply, async (ref, recovery) => {
      if (recovery !== null) return outcomeResult(req, await orders.outcomeOf(caller(req), recovery));
      const line = { drink: b.drink, size: b.size, quantity: b.quantity ?? 1, options: b.options ?? {} };
      return outcomeResult(req, await orders.place(caller(req), line, ref));
    });
  });

  app.get('/api/v1/menu', { config: { permission: 'actions.read', openapi: DOCS.menu } }, () => {
    const menu = orders.menu();
    return {
      currency: menu.currency,
      sizes: SIZES.map((id) => ({ id, name_zh: SIZE_NAMES_ZH[id] })),
      drinks: menu.drinks.map((d) => ({
        id: d.id,
        name_zh: d.name_zh,
        name_en: d.name_en,
        iced: d.iced,
        prices: d.prices,
      })),
      surcharges: menu.surcharges,
    };
  });

  app.get('/api/v1/orders/:id', { config: { permission: 'orders.read', openapi: DOCS.get } }, async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('ORDER_NOT_FOUND', 'no such order', req.id));
    const r = await orders.get(caller(req), id);
    if (!r.ok) return send(reply, problemResult(req, r.error));
    return { order: r.value };
  });

  app.get(
    '/api/v1/orders/:id/audit',
    { config: { permission: 'orders.read', openapi: DOCS.audit } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('ORDER_NOT_FOUND', 'no such order', req.id));
      const trail = await orders.auditTrail(caller(req), id);
      if (!trail.ok) return send(reply, problemResult(req, trail.error));
      return {
        data: trail.value.map((a) => ({
          at: new Date(a.at).toISOString(),
          actor: a.actor,
          action: a.action,
          before: a.before,
          after: a.after,
          request_id: a.requestId,
        })),
      };
    },
  );

  app.get('/api/v1/orders', { config: { permission: 'orders.read', openapi: DOCS.list } }, async (req, reply) => {
    const q = listQuerySchema.safeParse(req.query);
    if (!q.success) return send(reply, validationResult(req, q.error));
    const d = q.data;
    return orders.list(caller(req), {
      limit: d.limit,
      ...(d.status === undefined ? {} : { status: d.status }),
      ...(d.user_id === undefined ? {} : { userId: d.user_id }),
      ...(d.created_from === undefined ? {} : { createdFrom: Date.parse(d.created_from) }),
      ...(d.created_to === undefined ? {} : { createdTo: Date.parse(d.created_to) }),
      ...(d.cursor === undefined ? {} : { cursor: d.cursor }),
    });
  });

  app.post(
    '/api/v1/orders/:id/confirm',
    { config: { permission: 'orders.confirm', openapi: DOCS.confirm } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('ORDER_NOT_FOUND', 'no such order', req.id));
      const parsed = confirmBodySchema.safeParse(req.body ?? {});
      if (!parsed.success) return send(reply, validationResult(req, parsed.error));
      return idempotent(idempotency, req, reply, async (ref, recovery) => {
        if (recovery !== null) return outcomeResult(req, await orders.outcomeOf(caller(req), recovery));
        return outcomeResult(req, await orders.confirm(caller(req), id, ref, parsed.data.payment_method));
      });
    },
  );

  app.post(
    '/api/v1/orders/:id/cancel',
    { config: { permission: 'orders.cancel', openapi: DOCS.cancel } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('ORDER_NOT_FOUND', 'no such order', req.id));
      const parsed = cancelBodySchema.safeParse(req.body ?? {});
      if (!parsed.success) return send(reply, validationResult(req, parsed.error));
      return idempotent(idempotency, req, reply, async () => {
        const r = await orders.cancel(caller(req), id, parsed.data.reason ?? 'cancelled by the person');
        return r.ok ? { status: 200, body: { order: r.value }, store: true } : problemResult(req, r.error);
      });
    },
  );

  app.post('/api/v1/payments', { config: { permission: 'payments.submit', openapi: DOCS.pay } }, async (req, reply) => {
    const body = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return send(reply, problemResult(req, { code: 'VALIDATION_FAILED', message: 'the body must be a JSON object' }));
    }
    const b = body as Record<string, unknown>;
    return idempotent(idempotency, req, reply, async (ref, recovery) => {
      if (recovery !== null) return outcomeResult(req, await orders.outcomeOf(caller(req), recovery));
      return outcomeResult(
        req,
        await orders.submitPayment(
          caller(req),
          { order_id: b.order_id, amount: b.amount, currency: b.currency, payment_method: b.payment_method },
          ref,
        ),
      );
    });
  });
}
