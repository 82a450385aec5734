import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { IdempotencyApi } from '../../application/kernel/idempotency.js';
import type { RefundOutcome, RefundsApi } from '../../application/refunds/refunds-api.js';
import type { Result } from '../../domain/result.js';
import {
  heldResult,
  type HttpResult,
  idempotent,
  parseId,
  problemResult,
  send,
  validationResult,
} from './plumbing/http-result.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { listOf, refundViewSchema, underWayOrHeld } from './plumbing/openapi/view-schemas.js';
import { problem, sendProblem, statusForCode } from './plumbing/problem.js';
import { idParamSchema } from './plumbing/validation.js';

const refundBodySchema = z
  .object({
    /** Minor units; absent = everything not yet refunded. The domain checks the value. */
    amount: z.number().optional(),
    reason: z.string().min(1).max(200).optional(),
  })
  .strict();

function refundResult(req: FastifyRequest, r: Result<RefundOutcome>): HttpResult {
  if (!r.ok) return problemResult(req, r.error);
  if (r.value.kind === 'held') return heldResult(r.value.held);
  const refund = r.value.refund;
  const location = { location: `/api/v1/refunds/${refund.id}` };
  if (refund.status === 'SUCCEEDED') return { status: 201, body: { refund }, headers: location, store: true };
  if (refund.status === 'PENDING')
    return {
      status: 202,
      body: { refund, next: `in progress: poll GET /api/v1/refunds/${refund.id}` },
      headers: location,
      store: true,
    };
  return {
    status: statusForCode('REFUND_DECLINED'),
    body: problem(
      'REFUND_DECLINED',
      `the gateway refused the refund: ${refund.failure_code ?? 'unknown reason'}`,
      req.id,
      { refund },
    ),
    headers: { ...location, 'content-type': 'application/problem+json; charset=utf-8' },
    store: true,
  };
}

const refund = z.object({ refund: refundViewSchema });

const settleOutsideBodySchema = z
  .object({
    /** How it was settled (bank transfer, cash, waived by agreement…): required, kept in the audit trail. */
    note: z.string().trim().min(1).max(500),
  })
  .strict();

/** What each route says of itself in the OpenAPI document (GET /openapi.json, GET /docs). */
const DOCS = {
  request: {
    summary: 'Refund an order',
    description: 'The whole payment, or `amount` of it; a high-risk refund is held for the person (202 with `held`).',
    tags: ['refunds'],
    params: idParamSchema,
    body: refundBodySchema,
    bodyOptional: true,
    example: { amount: 1200, reason: 'one drink was wrong' },
    idempotent: true,
    responses: {
      201: { description: 'refunded', body: refund, headers: { Location: 'the refund' } },
      202: underWayOrHeld('refund', refundViewSchema, 'refund'),
    },
    errors: [
      'ORDER_NOT_FOUND',
      'INVALID_AMOUNT',
      'REFUND_NOT_ALLOWED',
      'REFUND_EXCEEDS_PAYMENT',
      'REFUND_DECLINED',
      'ILLEGAL_TRANSITION',
      'GATEWAY_UNAVAILABLE',
      'CONCURRENT_MODIFICATION',
    ],
  },
  listForOrder: {
    summary: 'An order’s refunds',
    tags: ['refunds'],
    params: idParamSchema,
    responses: { 200: { description: 'its refunds', body: listOf(refundViewSchema) } },
    errors: ['ORDER_NOT_FOUND'],
  },
  retry: {
    summary: 'Send a failed refund again',
    description:
      'A FAILED refund goes back to PENDING and is sent again under the same out_refund_no (the gateway can never ' +
      'pay it twice); answered as a refund request is. Its REFUND_FAILED flag is resolved (a new failure ' +
      'raises a new one).',
    tags: ['refunds'],
    params: idParamSchema,
    responses: {
      201: { description: 'refunded this time', body: refund, headers: { Location: 'the refund' } },
      202: underWayOrHeld('refund', refundViewSchema, 'refund'),
    },
    errors: [
      'REFUND_NOT_FOUND',
      'REFUND_NOT_FAILED',
      'REFUND_EXCEEDS_PAYMENT',
      'REFUND_DECLINED',
      'ILLEGAL_TRANSITION',
      'CONCURRENT_MODIFICATION',
    ],
  },
  settleOutside: {
    summary: 'Record a failed refund as settled outside the system',
    description:
      'An operator’s act, with a note saying how (bank transfer, cash, waived by agreement): the refund ends ' +
      'SETTLED_OUTSIDE, nothing is booked (no money moved through the system), an order with nothing left to give ' +
      'back is REFUNDED, and the refund’s REFUND_FAILED flag is resolved with the note. Audited.',
    tags: ['refunds'],
    params: idParamSchema,
    body: settleOutsideBodySchema,
    example: { note: 'paid back by bank transfer, ref 2026-12-05-0042' },
    responses: { 200: { description: 'settled outside', body: refund } },
    errors: ['REFUND_NOT_FOUND', 'REFUND_NOT_FAILED', 'ILLEGAL_TRANSITION', 'CONCURRENT_MODIFICATION'],
  },
  get: {
    summary: 'One refund',
    tags: ['refunds'],
    params: idParamSchema,
    responses: { 200: { description: 'the refund', body: refund } },
    errors: ['REFUND_NOT_FOUND'],
  },
} satisfies Record<string, RouteDoc>;

/** Refunds. Transport only. */
export function registerRefundRoutes(
  app: FastifyInstance,
  { refunds, idempotency }: { readonly refunds: RefundsApi; readonly idempotency: IdempotencyApi },
): void {
  app.post(
    '/api/v1/orders/:id/refund',
    { config: { permission: 'orders.refund', openapi: DOCS.request } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('ORDER_NOT_FOUND', 'no such order', req.id));
      const parsed = refundBodySchema.safeParse(req.body ?? {});
      if (!parsed.success) return send(reply, validationResult(req, parsed.error));
      const b = parsed.data;
      return idempotent(idempotency, req, reply, async (ref, recovery) => {
        if (recovery !== null) return refundResult(req, await refunds.outcomeOf(req.caller, recovery));
        const request = {
          ...(b.amount === undefined ? {} : { amount: b.amount }),
          ...(b.reason === undefined ? {} : { reason: b.reason }),
        };
        return refundResult(req, await refunds.request(req.caller, id, request, ref));
      });
    },
  );

  app.get(
    '/api/v1/orders/:id/refunds',
    { config: { permission: 'orders.read', openapi: DOCS.listForOrder } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('ORDER_NOT_FOUND', 'no such order', req.id));
      const r = await refunds.listForOrder(req.caller, id);
      return r.ok ? { data: r.value } : send(reply, problemResult(req, r.error));
    },
  );

  app.post(
    '/api/v1/refunds/:id/retry',
    { config: { permission: 'orders.refund', openapi: DOCS.retry } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('REFUND_NOT_FOUND', 'no such refund', req.id));
      return send(reply, refundResult(req, await refunds.retry(req.caller, id)));
    },
  );

  app.post(
    '/api/v1/refunds/:id/settle-outside',
    { config: { permission: 'refunds.settle_outside', openapi: DOCS.settleOutside } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('REFUND_NOT_FOUND', 'no such refund', req.id));
      // Found first: a refund the caller may not see answers as one that never existed, whatever the body.
      const found = await refunds.get(req.caller, id);
      if (!found.ok) return send(reply, problemResult(req, found.error));
      const parsed = settleOutsideBodySchema.safeParse(req.body ?? {});
      if (!parsed.success) return send(reply, validationResult(req, parsed.error));
      const r = await refunds.settleOutside(req.caller, id, parsed.data.note);
      return r.ok ? { refund: r.value } : send(reply, problemResult(req, r.error));
    },
  );

  app.get('/api/v1/refunds/:id', { config: { permission: 'orders.read', openapi: DOCS.get } }, async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('REFUND_NOT_FOUND', 'no such refund', req.id));
    const r = await refunds.get(req.caller, id);
    return r.ok ? { refund: r.value } : send(reply, problemResult(req, r.error));
  });
}
