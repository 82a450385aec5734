import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { IdempotencyApi } from '../../application/kernel/idempotency.js';
import type { TopUpOutcome, WalletApi } from '../../application/wallet/wallet-api.js';
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
import { topUpViewSchema, underWayOrHeld } from './plumbing/openapi/view-schemas.js';
import { PROBLEM_JSON, problem, sendProblem, statusForCode } from './plumbing/problem.js';
import { idParamSchema } from './plumbing/validation.js';

/** Shapes only: the amount is the domain's to judge, with its own codes. */
const topUpBodySchema = z.object({ amount: z.number() }).strict();

function topUpResult(req: FastifyRequest, r: Result<TopUpOutcome>): HttpResult {
  if (!r.ok) return problemResult(req, r.error);
  if (r.value.kind === 'held') return heldResult(r.value.held);
  const topUp = r.value.topUp;
  const location = { location: `/api/v1/wallet/top-ups/${topUp.id}` };
  switch (topUp.status) {
    case 'SUCCEEDED':
      return { status: 201, body: { top_up: topUp }, headers: location, store: true };
    case 'PENDING':
      return {
        status: 202,
        body: { top_up: topUp, next: `in progress: poll GET /api/v1/wallet/top-ups/${topUp.id}` },
        headers: location,
        store: true,
      };
    case 'FAILED':
      return {
        status: statusForCode('PAYMENT_DECLINED'),
        body: problem(
          'PAYMENT_DECLINED',
          `the top-up payment was declined: ${topUp.failure_code ?? 'unknown reason'}`,
          req.id,
          { top_up: topUp },
        ),
        headers: { ...location, ...PROBLEM_JSON },
        store: true,
      };
    default: {
      const never: never = topUp.status;
      throw new Error(`unknown top-up status ${String(never)}`);
    }
  }
}

const topUp = z.object({ top_up: topUpViewSchema });

/** What each route says of itself in the OpenAPI document (GET /openapi.json, GET /docs). */
const DOCS = {
  balance: {
    summary: 'The wallet’s balance',
    tags: ['wallet'],
    responses: {
      200: {
        description: 'the balance, in minor units',
        body: z.object({ wallet: z.object({ user_id: z.string(), balance: z.number().int(), currency: z.string() }) }),
      },
    },
  },
  topUp: {
    summary: 'Top up the wallet',
    description:
      'Charges the configured gateway and credits the wallet; an untrusted or above-threshold top-up is held ' +
      'for the person (202 with `held`).',
    tags: ['wallet'],
    body: topUpBodySchema,
    example: { amount: 10000 },
    idempotent: true,
    responses: {
      201: { description: 'credited', body: topUp, headers: { Location: 'the top-up' } },
      202: underWayOrHeld('top_up', topUpViewSchema, 'top-up'),
    },
    errors: [
      'INVALID_AMOUNT',
      'AMOUNT_TOO_LARGE',
      'POLICY_AMOUNT_CAP_EXCEEDED',
      'DAILY_LIMIT_EXCEEDED',
      'PAYMENT_DECLINED',
      'GATEWAY_UNAVAILABLE',
    ],
  },
  get: {
    summary: 'One top-up',
    tags: ['wallet'],
    params: idParamSchema,
    responses: { 200: { description: 'the top-up', body: topUp } },
    errors: ['TOP_UP_NOT_FOUND'],
  },
} satisfies Record<string, RouteDoc>;

/** The caller's wallet and its top-ups. Transport only. */
export function registerWalletRoutes(
  app: FastifyInstance,
  { wallet, idempotency }: { readonly wallet: WalletApi; readonly idempotency: IdempotencyApi },
): void {
  app.get('/api/v1/wallet', { config: { permission: 'wallet.read', openapi: DOCS.balance } }, async (req, reply) => {
    const r = await wallet.balance(req.caller);
    return r.ok
      ? { wallet: { user_id: req.caller.userId, balance: r.value.balance, currency: r.value.currency } }
      : send(reply, problemResult(req, r.error));
  });

  app.post(
    '/api/v1/wallet/top-ups',
    { config: { permission: 'wallet.top_up', openapi: DOCS.topUp } },
    async (req, reply) => {
      const parsed = topUpBodySchema.safeParse(req.body);
      if (!parsed.success) return send(reply, validationResult(req, parsed.error));
      return idempotent(idempotency, req, reply, async (ref, recovery) => {
        if (recovery !== null) return topUpResult(req, await wallet.outcomeOf(req.caller, recovery));
        return topUpResult(req, await wallet.topUp(req.caller, parsed.data.amount, ref));
      });
    },
  );

  app.get(
    '/api/v1/wallet/top-ups/:id',
    { config: { permission: 'wallet.read', openapi: DOCS.get } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('TOP_UP_NOT_FOUND', 'no such top-up', req.id));
      const r = await wallet.topUpOf(req.caller, id);
      return r.ok ? { top_up: r.value } : send(reply, problemResult(req, r.error));
    },
  );
}
