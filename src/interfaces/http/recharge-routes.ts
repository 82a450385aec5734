import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Engine, RechargeOutcome } from '../../application/engine.js';
import type { TopUpView } from '../../application/top-up-wallet.js';
import type { Result } from '../../domain/result.js';
import { type HttpResult, idempotent, parseId, problemResult, send, validationResult } from './order-routes.js';
import { problem, sendProblem, statusForCode } from './problem.js';

/** Shapes only: the number, the amount and the face value are the domain's to judge, with their own codes. */
const topUpBodySchema = z.object({ amount: z.number() }).strict();
const rechargeBodySchema = z.object({ phone: z.string().max(40), amount: z.number() }).strict();

const PROBLEM_JSON = { 'content-type': 'application/problem+json; charset=utf-8' };

function topUpResult(req: FastifyRequest, r: Result<TopUpView>): HttpResult {
  if (!r.ok) return problemResult(req, r.error);
  const topUp = r.value;
  const location = { location: `/api/v1/wallet/top-ups/${topUp.id}` };
  switch (topUp.status) {
    case 'SUCCEEDED':
      return { status: 201, body: { top_up: topUp }, headers: location, store: true };
    case 'PENDING':
      return { status: 202, body: { top_up: topUp, next: `in progress: poll GET /api/v1/wallet/top-ups/${topUp.id}` }, headers: location, store: true };
    case 'FAILED':
      return {
        status: statusForCode('PAYMENT_DECLINED'),
        body: problem('PAYMENT_DECLINED', `the top-up payment was declined: ${topUp.failure_code ?? 'unknown reason'}`, req.id, { top_up: topUp }),
        headers: { ...location, ...PROBLEM_JSON },
        store: true,
      };
    default: {
      const never: never = topUp.status;
      throw new Error(`unknown top-up status ${String(never)}`);
    }
  }
}

function rechargeResult(req: FastifyRequest, r: Result<RechargeOutcome>): HttpResult {
  if (!r.ok) return problemResult(req, r.error);
  const o = r.value;
  const location = { location: `/api/v1/recharges/${o.recharge.id}` };
  switch (o.kind) {
    case 'succeeded':
      return { status: 201, body: { recharge: o.recharge }, headers: location, store: true };
    case 'in_progress':
      return { status: 202, body: { recharge: o.recharge, next: o.next }, headers: location, store: true };
    case 'failed':
      return {
        status: statusForCode('RECHARGE_FAILED'),
        body: problem('RECHARGE_FAILED', `the recharge failed (${o.recharge.failure_reason ?? 'unknown reason'}); the amount is back on the wallet`, req.id, { recharge: o.recharge }),
        headers: { ...location, ...PROBLEM_JSON },
        store: true,
      };
    default: {
      const never: never = o;
      throw new Error(`unknown recharge outcome ${JSON.stringify(never)}`);
    }
  }
}

/** Wallet, phone recharges and channel health. Transport only. */
export function registerRechargeRoutes(app: FastifyInstance, engine: Engine): void {
  app.get('/api/v1/wallet', async (req, reply) => {
    const r = await engine.walletBalance(req.caller);
    return r.ok ? { wallet: { user_id: req.caller.userId, balance: r.value.balance, currency: r.value.currency } } : send(reply, problemResult(req, r.error));
  });

  app.post('/api/v1/wallet/top-ups', async (req, reply) => {
    const parsed = topUpBodySchema.safeParse(req.body);
    if (!parsed.success) return send(reply, validationResult(req, parsed.error));
    return idempotent(engine, req, reply, async (ref, recovery) => {
      if (recovery !== null) return topUpResult(req, await engine.topUpOf(req.caller.tenantId, recovery));
      return topUpResult(req, await engine.topUpWallet(req.caller, parsed.data.amount, ref));
    });
  });

  app.get('/api/v1/wallet/top-ups/:id', async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('TOP_UP_NOT_FOUND', 'no such top-up', req.id));
    const r = await engine.topUpOf(req.caller.tenantId, id);
    return r.ok ? { top_up: r.value } : send(reply, problemResult(req, r.error));
  });

  app.post('/api/v1/recharges', async (req, reply) => {
    const parsed = rechargeBodySchema.safeParse(req.body);
    if (!parsed.success) return send(reply, validationResult(req, parsed.error));
    return idempotent(engine, req, reply, async (ref, recovery) => {
      if (recovery !== null) return rechargeResult(req, await engine.rechargeOutcome(req.caller.tenantId, recovery));
      return rechargeResult(req, await engine.rechargePhone(req.caller, parsed.data, ref));
    });
  });

  app.get('/api/v1/recharges/:id', async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('RECHARGE_NOT_FOUND', 'no such recharge', req.id));
    const r = await engine.rechargeOf(req.caller.tenantId, id);
    return r.ok ? { recharge: r.value } : send(reply, problemResult(req, r.error));
  });

  // A batch is a file, not JSON: CSV (`phone,amount`, optional header) or JSON lines, as text.
  void app.register((scope, _opts, done) => {
    scope.addContentTypeParser(['text/csv', 'application/x-ndjson', 'application/jsonl'], { parseAs: 'string' }, (_req, body, next) => next(null, body));
    scope.post('/api/v1/recharges/batch', async (req, reply) => {
      const type = String(req.headers['content-type'] ?? '');
      if (typeof req.body !== 'string') {
        return sendProblem(reply, problem('UNSUPPORTED_MEDIA_TYPE', 'send the batch as text/csv or application/x-ndjson', req.id));
      }
      const text = req.body;
      const format = type.startsWith('text/csv') ? 'csv' : 'ndjson';
      return idempotent(engine, req, reply, async (ref, recovery) => {
        const r = recovery !== null ? await engine.batchOf(req.caller.tenantId, recovery) : await engine.rechargeBatch(req.caller, { text, format }, ref);
        if (!r.ok) return problemResult(req, r.error);
        return { status: 202, body: { batch: r.value, next: `poll GET /api/v1/batches/${r.value.id}` }, headers: { location: `/api/v1/batches/${r.value.id}` }, store: true };
      });
    });
    done();
  });

  app.get('/api/v1/batches/:id', async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('BATCH_NOT_FOUND', 'no such batch', req.id));
    const r = await engine.batchOf(req.caller.tenantId, id);
    return r.ok ? { batch: r.value } : send(reply, problemResult(req, r.error));
  });

  app.get('/api/v1/channels', () => ({
    data: engine.rechargeChannels().map((c) => ({
      channel: c.channel,
      operators: c.operators,
      breaker: c.breaker,
      in_flight: c.inFlight,
      capacity: c.capacity,
      routed: c.routed,
      scores: c.scores,
      window: {
        samples: c.window.samples,
        successes: c.window.successes,
        failures: c.window.failures,
        timeouts: c.window.timeouts,
        success_rate: c.window.successRate,
        mean_latency_ms: c.window.meanLatencyMs,
        p50_latency_ms: c.window.p50LatencyMs,
        p99_latency_ms: c.window.p99LatencyMs,
      },
    })),
  }));
}
