import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AbuseApi } from '../../application/abuse/abuse-api.js';
import type { IdempotencyApi } from '../../application/kernel/idempotency.js';
import type { RechargeApi, RechargeOutcome } from '../../application/recharge/recharge-api.js';
import type { Result } from '../../domain/result.js';
import { PRINCIPAL_ID_RE } from '../../domain/auth/credentials.js';
import { RECHARGE_STATUSES, type RechargeStatus } from '../../domain/recharge/recharge.js';
import { normalizePhoneNumber } from '../../domain/recharge/phone-number.js';
import {
  heldResult,
  type HttpResult,
  idempotent,
  parseId,
  problemResult,
  send,
  validationResult,
} from './plumbing/http-result.js';
import { PROBLEM_JSON, problem, sendProblem, statusForCode } from './plumbing/problem.js';
import { ipSource } from './plumbing/sources.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { listOf, rechargeViewSchema, underWayOrHeld } from './plumbing/openapi/view-schemas.js';
import { idParamSchema } from './plumbing/validation.js';

/** Shapes only: the number, the amount and the face value are the domain's to judge, with their own codes. */
const rechargeBodySchema = z
  .object({ phone: z.string().max(40), amount: z.number(), pay: z.enum(['wallet', 'direct']).optional() })
  .strict();

const rechargeListQuerySchema = z
  .object({
    status: z
      .string()
      .optional()
      .transform((s, ctx) => {
        if (s === undefined || s === '') return undefined;
        const parts = s.split(',').map((p) => p.trim().toUpperCase());
        for (const p of parts) {
          if (!(RECHARGE_STATUSES as readonly string[]).includes(p)) {
            ctx.addIssue({ code: 'custom', message: `unknown status ${p}; valid: ${RECHARGE_STATUSES.join(', ')}` });
            return z.NEVER;
          }
        }
        return parts as RechargeStatus[];
      })
      .describe(`one or more of ${RECHARGE_STATUSES.join(', ')}, comma-separated`),
    channel: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'channel is a recharge channel’s name')
      .optional()
      .describe('the channel of the current (or last) attempt'),
    phone: z.string().max(40).optional().describe('the whole number (any spelling: spaces, +86)'),
    batch_id: z
      .string()
      .regex(/^[A-Za-z0-9_]{1,80}$/, 'batch_id is a batch’s id')
      .optional(),
    user_id: z.string().regex(PRINCIPAL_ID_RE, 'user_id is 1–64 letters, digits, . _ @ or -').optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z
      .string()
      .regex(/^[A-Za-z0-9_]{1,80}$/, 'cursor is not one this API gave out: pass back `next_cursor` as it came')
      .optional(),
  })
  .strict();

const historyQuerySchema = z
  .object({
    since: z.coerce.number().int().min(0).optional().describe('ms since epoch: only buckets that start after it'),
  })
  .strict();

const channelParamSchema = z.object({ channel: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/) }).strict();

function rechargeResult(req: FastifyRequest, r: Result<RechargeOutcome>): HttpResult {
  if (!r.ok) return problemResult(req, r.error);
  const o = r.value;
  if (o.kind === 'held') return heldResult(o.held);
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

const recharge = z.object({ recharge: rechargeViewSchema });

/** What each route says of itself in the OpenAPI document (GET /openapi.json, GET /docs). */
const DOCS = {
  create: {
    summary: 'Recharge a phone',
    description:
      'Paid from the wallet (default) or by a payment of its own (`pay: direct`); an untrusted or ' +
      'above-threshold recharge is held for the person (202 with `held`). A failed recharge puts the amount back.',
    tags: ['recharges'],
    body: rechargeBodySchema,
    example: { phone: '13800138000', amount: 5000 },
    idempotent: true,
    responses: {
      201: { description: 'recharged', body: recharge, headers: { Location: 'the recharge' } },
      202: underWayOrHeld('recharge', rechargeViewSchema, 'recharge'),
    },
    errors: [
      'PHONE_INVALID_FORMAT',
      'PHONE_INVALID_LENGTH',
      'PHONE_NOT_MOBILE',
      'PHONE_UNKNOWN_SEGMENT',
      'PHONE_NOT_RECHARGEABLE',
      'FACE_VALUE_NOT_OFFERED',
      'INVALID_AMOUNT',
      'INSUFFICIENT_BALANCE',
      'POLICY_AMOUNT_CAP_EXCEEDED',
      'DAILY_LIMIT_EXCEEDED',
      'RECHARGE_FAILED',
      'NO_CHANNEL_AVAILABLE',
      'PAYMENT_DECLINED',
      'GATEWAY_UNAVAILABLE',
    ],
  },
  list: {
    summary: 'Recharges, newest first',
    description:
      'The caller’s own recharges (the tenant’s for operators and viewers), newest first, numbers masked. ' +
      'Filter by status, channel (of the current or last attempt), the whole phone number, batch or person. ' +
      'A page at a time: pass `next_cursor` back as `cursor` (a channel-filtered page may hold fewer than ' +
      '`limit` and still have a next one).',
    tags: ['recharges'],
    query: rechargeListQuerySchema,
    responses: {
      200: {
        description: 'a page of recharges',
        body: z.object({ data: z.array(rechargeViewSchema), next_cursor: z.string().nullable() }),
      },
    },
    errors: ['VALIDATION_FAILED', 'PHONE_INVALID_FORMAT', 'PHONE_INVALID_LENGTH', 'PHONE_NOT_MOBILE'],
  },
  get: {
    summary: 'One recharge',
    tags: ['recharges'],
    params: idParamSchema,
    responses: { 200: { description: 'the recharge', body: recharge } },
    errors: ['RECHARGE_NOT_FOUND'],
  },
  channels: {
    summary: 'Recharge channels and their health',
    description: 'Breaker, load, routing scores and the recent window of each channel.',
    tags: ['operations'],
    responses: {
      200: {
        description: 'every channel',
        body: listOf(
          z.object({
            channel: z.string(),
            operators: z.array(z.string()),
            breaker: z.looseObject({ state: z.enum(['closed', 'open', 'half_open']) }),
            in_flight: z.number().int(),
            capacity: z
              .number()
              .int()
              .describe(
                'calls in flight this instance allows the channel: its configured capacity, or an equal share of it ' +
                  'when several instances route to it',
              ),
            routed: z.number().int(),
            scores: z.record(z.string(), z.number()),
            shares: z
              .record(z.string(), z.number())
              .describe('per operator, the share of its next calls routing would give the channel now (0–1)'),
            window: z.object({
              samples: z.number().int(),
              successes: z.number().int(),
              failures: z.number().int(),
              timeouts: z.number().int(),
              success_rate: z.number().nullable(),
              mean_latency_ms: z.number().nullable(),
              p50_latency_ms: z.number().nullable(),
              p99_latency_ms: z.number().nullable(),
            }),
          }),
        ),
      },
    },
  },
  history: {
    summary: 'Recharge channels over time',
    description:
      'This instance’s bounded history of each channel, for charts: 10-second buckets kept for 3 hours (a ring ' +
      'of fixed length per channel, so memory stays bounded), oldest first, the current bucket last (still ' +
      'filling). Each bucket has the calls that ended in it by outcome, success rate, p50/p99 latency, calls ' +
      'routed, the most calls in flight and the capacity, the breaker at its end and whether it was open at any ' +
      'moment, and the routing scores per operator; with the routing strategy and the score’s weights. Routing ' +
      'learns per instance, so each instance has its own history. `since` (ms since epoch) keeps only later ' +
      'buckets, for a chart that asks again.',
    tags: ['operations'],
    query: historyQuerySchema,
    responses: {
      200: {
        description: 'every channel’s buckets',
        body: z.object({
          bucket_ms: z.number().int(),
          strategy: z.enum(['smart', 'round_robin', 'random']),
          weights: z.object({ latency: z.number(), success: z.number(), load: z.number() }),
          sharpness: z.number(),
          data: z.array(
            z.object({
              channel: z.string(),
              buckets: z.array(
                z.object({
                  start: z.number().int().describe('ms since epoch; the bucket covers [start, start + bucket_ms)'),
                  calls: z.number().int(),
                  successes: z.number().int(),
                  failures: z.number().int(),
                  timeouts: z.number().int(),
                  success_rate: z.number().nullable(),
                  p50_latency_ms: z.number().nullable(),
                  p99_latency_ms: z.number().nullable(),
                  routed: z.number().int(),
                  max_in_flight: z.number().int(),
                  capacity: z.number().int(),
                  breaker: z.enum(['closed', 'open', 'half_open']).describe('at the bucket’s end'),
                  breaker_opened: z.boolean().describe('open at any moment of the bucket'),
                  scores: z.record(z.string(), z.number()),
                }),
              ),
            }),
          ),
        }),
      },
    },
    errors: ['VALIDATION_FAILED', 'NO_CHANNEL_AVAILABLE'],
  },
  callback: {
    summary: 'A recharge channel’s signed result',
    description:
      'For the channels (Juhe: a form POST, or the same parameters in the query string), checked by their ' +
      'signature. The channel’s own reply stops its re-sends.',
    tags: ['callbacks'],
    params: channelParamSchema,
    bodyContent: {
      'application/x-www-form-urlencoded': z.record(z.string(), z.string()),
      'application/json': z.unknown(),
    },
    bodyOptional: true,
    responses: {
      200: {
        description: 'the channel’s own acknowledgement',
        content: { 'text/plain': z.string(), 'application/json': z.unknown() },
        headers: { 'X-Callback-Effect': 'what the callback did' },
      },
    },
    errors: [
      'RECHARGE_CHANNEL_NOT_CONFIGURED',
      'CALLBACK_INVALID',
      'CALLBACK_SIGNATURE_INVALID',
      'CALLBACK_UNKNOWN_RECHARGE',
      'CALLBACK_UNCONFIRMED',
      'CALLBACK_REPLAYED',
      'CALLBACK_AMOUNT_MISMATCH',
    ],
  },
} satisfies Record<string, RouteDoc>;

/** Phone recharges and the health of their channels. Transport only. */
export function registerRechargeRoutes(
  app: FastifyInstance,
  {
    recharge,
    idempotency,
    abuse,
  }: {
    readonly recharge: RechargeApi;
    readonly idempotency: IdempotencyApi;
    readonly abuse: Pick<AbuseApi, 'recordFailure'>;
  },
): void {
  registerRechargeCallbacks(app, recharge, abuse);

  app.post(
    '/api/v1/recharges',
    { config: { permission: 'recharges.create', openapi: DOCS.create } },
    async (req, reply) => {
      const parsed = rechargeBodySchema.safeParse(req.body);
      if (!parsed.success) return send(reply, validationResult(req, parsed.error));
      return idempotent(idempotency, req, reply, async (ref, recovery) => {
        if (recovery !== null) return rechargeResult(req, await recharge.outcomeOf(req.caller, recovery));
        return rechargeResult(req, await recharge.request(req.caller, parsed.data, ref));
      });
    },
  );

  app.get('/api/v1/recharges', { config: { permission: 'recharges.read', openapi: DOCS.list } }, async (req, reply) => {
    const q = rechargeListQuerySchema.safeParse(req.query);
    if (!q.success) return send(reply, validationResult(req, q.error));
    const d = q.data;
    let phone: string | undefined;
    if (d.phone !== undefined && d.phone !== '') {
      const n = normalizePhoneNumber(d.phone);
      if (!n.ok) return send(reply, problemResult(req, n.error));
      phone = n.value;
    }
    return recharge.list(req.caller, {
      limit: d.limit,
      ...(d.status === undefined ? {} : { status: d.status }),
      ...(d.channel === undefined ? {} : { channel: d.channel }),
      ...(phone === undefined ? {} : { phone }),
      ...(d.batch_id === undefined ? {} : { batchId: d.batch_id }),
      ...(d.user_id === undefined ? {} : { userId: d.user_id }),
      ...(d.cursor === undefined ? {} : { cursor: d.cursor }),
    });
  });

  app.get(
    '/api/v1/recharges/:id',
    { config: { permission: 'recharges.read', openapi: DOCS.get } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('RECHARGE_NOT_FOUND', 'no such recharge', req.id));
      const r = await recharge.get(req.caller, id);
      return r.ok ? { recharge: r.value } : send(reply, problemResult(req, r.error));
    },
  );

  app.get('/api/v1/channels', { config: { permission: 'channels.read', openapi: DOCS.channels } }, () => ({
    data: recharge.channels().map((c) => ({
      channel: c.channel,
      operators: c.operators,
      breaker: c.breaker,
      in_flight: c.inFlight,
      capacity: c.capacity,
      routed: c.routed,
      scores: c.scores,
      shares: c.shares,
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

  app.get(
    '/api/v1/channels/history',
    { config: { permission: 'channels.read', openapi: DOCS.history } },
    (req, reply) => {
      const q = historyQuerySchema.safeParse(req.query);
      if (!q.success) return send(reply, validationResult(req, q.error));
      const h = recharge.channelHistory(q.data.since);
      if (h === null)
        return sendProblem(reply, problem('NO_CHANNEL_AVAILABLE', 'phone recharge is not configured', req.id));
      return {
        bucket_ms: h.bucketMs,
        strategy: h.strategy,
        weights: h.weights,
        sharpness: h.sharpness,
        data: h.channels.map((c) => ({
          channel: c.channel,
          buckets: c.buckets.map((b) => ({
            start: b.start,
            calls: b.calls,
            successes: b.successes,
            failures: b.failures,
            timeouts: b.timeouts,
            success_rate: b.successRate,
            p50_latency_ms: b.p50LatencyMs,
            p99_latency_ms: b.p99LatencyMs,
            routed: b.routed,
            max_in_flight: b.maxInFlight,
            capacity: b.capacity,
            breaker: b.breaker,
            breaker_opened: b.breakerOpened,
            scores: b.scores,
          })),
        })),
      };
    },
  );
}

/**
 * `POST /api/v1/recharge-callbacks/:channel`: a recharge channel's signed result (Juhe: a form
 * POST, or the same parameters in the query string). Transport only: the parameters (query, then
 * a form body over them) and the raw body go to the use case; the channel's own reply stops its
 * re-sends; a refusal is a problem document with a stable code.
 */
function registerRechargeCallbacks(
  app: FastifyInstance,
  recharge: RechargeApi,
  abuse: Pick<AbuseApi, 'recordFailure'>,
): void {
  void app.register((scope, _opts, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, next) => next(null, body));
    scope.post(
      '/api/v1/recharge-callbacks/:channel',
      { config: { public: true, openapi: DOCS.callback } },
      async (req, reply) => {
        const p = channelParamSchema.safeParse(req.params);
        if (!p.success)
          return sendProblem(reply, problem('RECHARGE_CHANNEL_NOT_CONFIGURED', 'no such recharge channel', req.id));
        const rawBody = typeof req.body === 'string' ? req.body : '';
        const params: Record<string, string> = {};
        const query = new URLSearchParams(req.url.split('?')[1] ?? '');
        const form = /application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')
          ? new URLSearchParams(rawBody)
          : new URLSearchParams();
        for (const source of [query, form]) for (const [k, v] of source) if (k !== '__proto__') params[k] = v;
        const headers: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
        const r = await recharge.handleCallback(p.data.channel, { params, headers, rawBody });
        if (!r.accepted) {
          void reply.header('x-error-code', r.code);
          // A forged signature counts against the sender's address: enough of them and it is blocked.
          if (r.code === 'CALLBACK_SIGNATURE_INVALID')
            await abuse.recordFailure(ipSource(req), 'forged_callback', req.id);
          return sendProblem(reply, problem(r.code, r.message, req.id));
        }
        void reply.header('x-callback-effect', r.effect);
        return reply.code(r.reply.status).type(r.reply.contentType).send(r.reply.body);
      },
    );
    done();
  });
}
