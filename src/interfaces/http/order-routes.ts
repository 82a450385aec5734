import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Caller } from '../../application/context.js';
import type { Engine, OrderOutcome } from '../../application/engine.js';
import type { IdempotencyRef } from '../../application/place-order.js';
import { SIZE_NAMES_ZH, SIZES } from '../../domain/menu.js';
import type { DomainError, Result } from '../../domain/result.js';
import { problem, sendProblem, statusForCode } from './problem.js';
import {
  cancelBodySchema,
  confirmBodySchema,
  describeIssues,
  idParamSchema,
  listQuerySchema,
  orderBodySchema,
} from './validation.js';

/** What a handler wants sent; `store` says whether an Idempotency-Key should remember it. */
export interface HttpResult {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly store: boolean;
}

/** Codes that mean "the request was invalid, no work began": such answers are not remembered. */
const NOT_STORED = new Set([
  'VALIDATION_FAILED',
  'INVALID_AMOUNT',
  'INVALID_CURRENCY',
  'INVALID_PAYMENT_METHOD',
  'AMOUNT_TOO_LARGE',
  'UNKNOWN_DRINK',
  'UNKNOWN_SIZE',
  'UNKNOWN_OPTION',
  'INVALID_QUANTITY',
  'CONCURRENT_MODIFICATION',
  'PHONE_INVALID_FORMAT',
  'PHONE_INVALID_LENGTH',
  'PHONE_NOT_MOBILE',
  'PHONE_UNKNOWN_SEGMENT',
  'PHONE_NOT_RECHARGEABLE',
  'FACE_VALUE_NOT_OFFERED',
  // Nothing was reserved: the same key may be used again once the wallet is topped up.
  'INSUFFICIENT_BALANCE',
]);

export function problemResult(
  req: FastifyRequest,
  error: DomainError & { errors?: readonly DomainError[] },
): HttpResult {
  const extensions: Record<string, unknown> = {};
  if (error.details !== undefined) extensions.details = error.details;
  if (error.errors !== undefined)
    extensions.errors = error.errors.map((e) => ({
      code: e.code,
      message: e.message,
      ...(e.details === undefined ? {} : e.details),
    }));
  return {
    status: statusForCode(error.code),
    body: problem(error.code, error.message, req.id, extensions),
    headers: { 'content-type': 'application/problem+json; charset=utf-8' },
    store: !NOT_STORED.has(error.code),
  };
}

export function validationResult(req: FastifyRequest, error: z.ZodError): HttpResult {
  return {
    status: 400,
    body: problem('VALIDATION_FAILED', 'the request is not valid', req.id, { errors: describeIssues(error) }),
    headers: { 'content-type': 'application/problem+json; charset=utf-8' },
    store: false,
  };
}

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

export function send(reply: FastifyReply, r: HttpResult): FastifyReply {
  void reply.code(r.status);
  for (const [k, v] of Object.entries(r.headers ?? {})) void reply.header(k, v);
  return r.body === null ? reply.send() : reply.send(r.body);
}

/**
 * Idempotency-Key handling for a POST (ACP §6 / Stripe): replay the first answer with
 * `Idempotent-Replayed: true`, 422 on a different body, 409 while the first is in flight.
 */
export async function idempotent(
  engine: Engine,
  req: FastifyRequest,
  reply: FastifyReply,
  exec: (ref: IdempotencyRef | undefined, recoveryPoint: string | null) => Promise<HttpResult>,
  /** What the key is tied to, when the body itself is a stream not read yet. */
  identity: unknown = req.body ?? null,
): Promise<FastifyReply> {
  const header = req.headers['idempotency-key'];
  if (header === undefined) return send(reply, await exec(undefined, null));
  const key = Array.isArray(header) ? header.join(',') : header;
  const caller = req.caller;
  const scope = `${caller.actor} ${req.method} ${req.url.split('?')[0] ?? ''}`;
  const start = await engine.beginIdempotent(caller.tenantId, scope, key, identity);
  switch (start.kind) {
    case 'invalid_key':
      return sendProblem(reply, problem('IDEMPOTENCY_KEY_INVALID', start.reason, req.id));
    case 'conflict':
      return sendProblem(
        reply,
        problem(
          'IDEMPOTENCY_CONFLICT',
          `Idempotency-Key "${key}" was first used with a different request body; use a new key for a different request`,
          req.id,
        ),
      );
    case 'in_flight':
      void reply.header('retry-after', String(start.retryAfterSeconds));
      return sendProblem(
        reply,
        problem(
          'IDEMPOTENCY_IN_FLIGHT',
          'a request with this Idempotency-Key is still being processed; retry later',
          req.id,
        ),
      );
    case 'replay': {
      void reply.code(start.status).header('idempotent-replayed', 'true');
      for (const [k, v] of Object.entries(start.headers)) void reply.header(k, v);
      return start.body === ''
        ? reply.send()
        : reply.type(start.headers['content-type'] ?? 'application/json; charset=utf-8').send(start.body);
    }
    case 'proceed': {
      let result: HttpResult;
      try {
        result = await exec(start.ref, start.recoveryPoint);
      } catch (e) {
        await engine.finishIdempotent(caller.tenantId, start.ref, { status: 500, body: '', headers: {}, store: false });
        throw e;
      }
      const body = result.body === null ? '' : JSON.stringify(result.body);
      const headers = { 'content-type': 'application/json; charset=utf-8', ...result.headers };
      await engine.finishIdempotent(caller.tenantId, start.ref, {
        status: result.status,
        body,
        headers,
        store: result.store,
      });
      void reply.code(result.status);
      for (const [k, v] of Object.entries(headers)) void reply.header(k, v);
      return body === '' ? reply.send() : reply.send(body);
    }
    default: {
      const never: never = start;
      throw new Error(`unknown idempotency state ${JSON.stringify(never)}`);
    }
  }
}

export function parseId(req: FastifyRequest): string | undefined {
  const p = idParamSchema.safeParse(req.params);
  return p.success ? p.data.id : undefined;
}

export function registerOrderRoutes(app: FastifyInstance, engine: Engine): void {
  const caller = (req: FastifyRequest): Caller => req.caller;

  app.post('/api/v1/order', async (req, reply) => {
    const parsed = orderBodySchema.safeParse(req.body);
    if (!parsed.success) return send(reply, validationResult(req, parsed.error));
    const b = parsed.data;
    return idempotent(engine, req, reply, async (ref, recovery) => {
      if (recovery !== null) return outcomeResult(req, await engine.outcomeOf(caller(req).tenantId, recovery));
      const line = { drink: b.drink, size: b.size, quantity: b.quantity ?? 1, options: b.options ?? {} };
      return outcomeResult(req, await engine.placeOrder(caller(req), line, ref));
    });
  });

  app.get('/api/v1/menu', () => {
    const menu = engine.menu();
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

  app.get('/api/v1/orders/:id', async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('ORDER_NOT_FOUND', 'no such order', req.id));
    const r = await engine.getOrder(caller(req).tenantId, id);
    if (!r.ok) return send(reply, problemResult(req, r.error));
    return { order: r.value };
  });

  app.get('/api/v1/orders/:id/audit', async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('ORDER_NOT_FOUND', 'no such order', req.id));
    const r = await engine.getOrder(caller(req).tenantId, id);
    if (!r.ok) return send(reply, problemResult(req, r.error));
    const trail = await engine.auditTrail(caller(req).tenantId, 'order', id);
    return {
      data: trail.map((a) => ({
        at: new Date(a.at).toISOString(),
        actor: a.actor,
        action: a.action,
        before: a.before,
        after: a.after,
        request_id: a.requestId,
      })),
    };
  });

  app.get('/api/v1/orders', async (req, reply) => {
    const q = listQuerySchema.safeParse(req.query);
    if (!q.success) return send(reply, validationResult(req, q.error));
    const d = q.data;
    return engine.listOrders({
      tenantId: caller(req).tenantId,
      limit: d.limit,
      ...(d.status === undefined ? {} : { status: d.status }),
      ...(d.user_id === undefined ? {} : { userId: d.user_id }),
      ...(d.created_from === undefined ? {} : { createdFrom: Date.parse(d.created_from) }),
      ...(d.created_to === undefined ? {} : { createdTo: Date.parse(d.created_to) }),
      ...(d.cursor === undefined ? {} : { cursor: d.cursor }),
    });
  });

  app.post('/api/v1/orders/:id/confirm', async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('ORDER_NOT_FOUND', 'no such order', req.id));
    const parsed = confirmBodySchema.safeParse(req.body ?? {});
    if (!parsed.success) return send(reply, validationResult(req, parsed.error));
    return idempotent(engine, req, reply, async (ref, recovery) => {
      if (recovery !== null) return outcomeResult(req, await engine.outcomeOf(caller(req).tenantId, recovery));
      return outcomeResult(req, await engine.confirmOrder(caller(req), id, ref, parsed.data.payment_method));
    });
  });

  app.post('/api/v1/orders/:id/cancel', async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('ORDER_NOT_FOUND', 'no such order', req.id));
    const parsed = cancelBodySchema.safeParse(req.body ?? {});
    if (!parsed.success) return send(reply, validationResult(req, parsed.error));
    return idempotent(engine, req, reply, async () => {
      const r = await engine.cancelOrder(caller(req), id, parsed.data.reason ?? 'cancelled by the person');
      return r.ok ? { status: 200, body: { order: r.value }, store: true } : problemResult(req, r.error);
    });
  });

  app.post('/api/v1/payments', async (req, reply) => {
    const body = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return send(reply, problemResult(req, { code: 'VALIDATION_FAILED', message: 'the body must be a JSON object' }));
    }
    const b = body as Record<string, unknown>;
    return idempotent(engine, req, reply, async (ref, recovery) => {
      if (recovery !== null) return outcomeResult(req, await engine.outcomeOf(caller(req).tenantId, recovery));
      return outcomeResult(
        req,
        await engine.submitPayment(
          caller(req),
          { order_id: b.order_id, amount: b.amount, currency: b.currency, payment_method: b.payment_method },
          ref,
        ),
      );
    });
  });
}
