import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Engine, RechargeOutcome } from '../../application/engine.js';
import { readLines } from '../../application/read-lines.js';
import { UseCaseError } from '../../application/context.js';
import type { TopUpView } from '../../application/top-up-wallet.js';
import type { Result } from '../../domain/result.js';
import { type HttpResult, idempotent, parseId, problemResult, send, validationResult } from './order-routes.js';
import { problem, sendProblem, statusForCode } from './problem.js';

/** Shapes only: the number, the amount and the face value are the domain's to judge, with their own codes. */
const topUpBodySchema = z.object({ amount: z.number() }).strict();
const rechargeBodySchema = z
  .object({ phone: z.string().max(40), amount: z.number(), pay: z.enum(['wallet', 'direct']).optional() })
  .strict();

const PROBLEM_JSON = { 'content-type': 'application/problem+json; charset=utf-8' };

function topUpResult(req: FastifyRequest, r: Result<TopUpView>): HttpResult {
  if (!r.ok) return problemResult(req, r.error);
  const topUp = r.value;
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
        body: problem(
          'RECHARGE_FAILED',
          `the recharge failed (${o.recharge.failure_reason ?? 'unknown reason'}); the amount is back on the wallet`,
          req.id,
          { recharge: o.recharge },
        ),
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
    return r.ok
      ? { wallet: { user_id: req.caller.userId, balance: r.value.balance, currency: r.value.currency } }
      : send(reply, problemResult(req, r.error));
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

  // A batch is a file, not JSON: CSV (`phone,amount`, optional header) or JSON lines, read as a
  // stream (never whole in memory), so a file of any length costs the same memory.
  void app.register((scope, _opts, done) => {
    scope.addContentTypeParser(['text/csv', 'application/x-ndjson', 'application/jsonl'], (_req, payload, next) =>
      next(null, payload),
    );
    scope.post('/api/v1/recharges/batch', async (req, reply) => {
      const type = String(req.headers['content-type'] ?? '');
      const body = req.body as AsyncIterable<Uint8Array> | undefined;
      if (body === undefined || typeof body !== 'object' || !(Symbol.asyncIterator in body)) {
        return sendProblem(
          reply,
          problem('UNSUPPORTED_MEDIA_TYPE', 'send the batch as text/csv or application/x-ndjson', req.id),
        );
      }
      const digest = contentDigest(req.headers['content-digest']);
      if (digest === 'invalid')
        return sendProblem(
          reply,
          problem('VALIDATION_FAILED', 'Content-Digest must be sha-256=:<base64 of the SHA-256 of the body>:', req.id),
        );
      const format = type.startsWith('text/csv') ? 'csv' : 'ndjson';
      // The body is not read before the key is claimed: the key is tied to what identifies the file.
      const identity = { batch: format, sha256: digest ?? null, length: req.headers['content-length'] ?? null };
      return idempotent(
        engine,
        req,
        reply,
        async (ref, recovery) => {
          const r =
            recovery !== null
              ? await engine.batchOf(req.caller.tenantId, recovery)
              : await engine.rechargeBatch(
                  req.caller,
                  { lines: readLines(digest === undefined ? body : checkedAgainst(body, digest)), format },
                  ref,
                );
          if (!r.ok) return problemResult(req, r.error);
          return {
            status: 202,
            body: { batch: r.value, next: `poll GET /api/v1/batches/${r.value.id}` },
            headers: { location: `/api/v1/batches/${r.value.id}` },
            store: true,
          };
        },
        identity,
      );
    });
    done();
  });

  app.get('/api/v1/batches/:id/results', async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('BATCH_NOT_FOUND', 'no such batch', req.id));
    const found = await engine.batchOf(req.caller.tenantId, id);
    if (!found.ok) return send(reply, problemResult(req, found.error));
    const lines = engine.batchResults(req.caller.tenantId, id);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${id}-results.csv"`)
      .send(Readable.from(asLines(lines)));
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

/** `Content-Digest: sha-256=:<base64>:` (RFC 9530) → the digest; undefined when absent. */
function contentDigest(header: string | string[] | undefined): Buffer | 'invalid' | undefined {
  if (header === undefined) return undefined;
  const m = /(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]+):/.exec(Array.isArray(header) ? header.join(',') : header);
  if (m?.[1] === undefined) return 'invalid';
  const d = Buffer.from(m[1], 'base64');
  return d.length === 32 ? d : 'invalid';
}

/** Pass the body through while hashing it; at its end, refuse it if it is not what the client said it sent. */
async function* checkedAgainst(body: AsyncIterable<Uint8Array>, digest: Buffer): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  for await (const chunk of body) {
    hash.update(chunk);
    yield chunk;
  }
  if (!hash.digest().equals(digest))
    throw new UseCaseError(
      'CONTENT_DIGEST_MISMATCH',
      'the body does not match its Content-Digest: it was changed or cut on the way; nothing was charged',
    );
}

async function* asLines(lines: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const l of lines) yield `${l}\n`;
}
