import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../../application/kernel/caller.js';
import type { IdempotencyApi } from '../../application/kernel/idempotency.js';
import type { OrderOutcome, OrdersApi } from '../../application/orders/orders-api.js';
import { SIZE_NAMES_ZH, SIZES } from '../../domain/menu.js';
import type { DomainError, Result } from '../../domain/result.js';
import { type HttpResult, idempotent, parseId, problemResult, send, validationResult } from './plumbing/http-result.js';
import { problem, sendProblem } from './plumbing/problem.js';
import { cancelBodySchema, confirmBodySchema, listQuerySchema, orderBodySchema } from './plumbing/validation.js';

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

/** Coffee orders. Transport only. */
export function registerOrderRoutes(
  app: FastifyInstance,
  { orders, idempotency }: { readonly orders: OrdersApi; readonly idempotency: IdempotencyApi },
): void {
  const caller = (req: FastifyRequest): Caller => req.caller;

  app.post('/api/v1/order', { config: { permission: 'orders.place' } }, async (req, reply) => {
    const parsed = orderBodySchema.safeParse(req.body);
    if (!parsed.success) return send(reply, validationResult(req, parsed.error));
    const b = parsed.data;
    return idempotent(idempotency, req, reply, async (ref, recovery) => {
      if (recovery !== null) return outcomeResult(req, await orders.outcomeOf(caller(req), recovery));
      const line = { drink: b.drink, size: b.size, quantity: b.quantity ?? 1, options: b.options ?? {} };
      return outcomeResult(req, await orders.place(caller(req), line, ref));
    });
  });

  app.get('/api/v1/menu', { config: { permission: 'actions.read' } }, () => {
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

  app.get('/api/v1/orders/:id', { config: { permission: 'orders.read' } }, async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('ORDER_NOT_FOUND', 'no such order', req.id));
    const r = await orders.get(caller(req), id);
    if (!r.ok) return send(reply, problemResult(req, r.error));
    return { order: r.value };
  });

  app.get('/api/v1/orders/:id/audit', { config: { permission: 'orders.read' } }, async (req, reply) => {
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
  });

  app.get('/api/v1/orders', { config: { permission: 'orders.read' } }, async (req, reply) => {
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

  app.post('/api/v1/orders/:id/confirm', { config: { permission: 'orders.confirm' } }, async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('ORDER_NOT_FOUND', 'no such order', req.id));
    const parsed = confirmBodySchema.safeParse(req.body ?? {});
    if (!parsed.success) return send(reply, validationResult(req, parsed.error));
    return idempotent(idempotency, req, reply, async (ref, recovery) => {
      if (recovery !== null) return outcomeResult(req, await orders.outcomeOf(caller(req), recovery));
      return outcomeResult(req, await orders.confirm(caller(req), id, ref, parsed.data.payment_method));
    });
  });

  app.post('/api/v1/orders/:id/cancel', { config: { permission: 'orders.cancel' } }, async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('ORDER_NOT_FOUND', 'no such order', req.id));
    const parsed = cancelBodySchema.safeParse(req.body ?? {});
    if (!parsed.success) return send(reply, validationResult(req, parsed.error));
    return idempotent(idempotency, req, reply, async () => {
      const r = await orders.cancel(caller(req), id, parsed.data.reason ?? 'cancelled by the person');
      return r.ok ? { status: 200, body: { order: r.value }, store: true } : problemResult(req, r.error);
    });
  });

  app.post('/api/v1/payments', { config: { permission: 'payments.submit' } }, async (req, reply) => {
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
