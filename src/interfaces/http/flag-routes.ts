import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { FLAG_ACTIONS, type FlagsApi } from '../../application/flags/flags-api.js';
import { parseId, problemResult, send, validationResult } from './plumbing/http-result.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { flagViewSchema, heldViewSchema, listOf, refundViewSchema } from './plumbing/openapi/view-schemas.js';
import { problem, sendProblem } from './plumbing/problem.js';
import { idParamSchema } from './plumbing/validation.js';

const flagsQuerySchema = z
  .object({
    /** open (the default), resolved, or all. */
    status: z.enum(['open', 'resolved', 'all']).optional(),
    /** Older spelling: true = open only, false = all. `status` wins when both are given. */
    open: z.enum(['true', 'false']).optional(),
    /** The flag's code (its kind), e.g. REFUND_FAILED. */
    code: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]{0,63}$/)
      .optional(),
    resource_type: z
      .string()
      .regex(/^[a-z_]{1,32}$/)
      .optional(),
    resource_id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional(),
    /** Raised at or after this instant. */
    since: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

const resolveBodySchema = z
  .object({
    /** Why it is resolved: required, kept on the flag and in the audit trail. */
    note: z.string().trim().min(1).max(500),
  })
  .strict();

const actionBodySchema = z
  .object({
    action: z.enum(FLAG_ACTIONS),
    /** Required for settle_refund_outside (how it was settled); recorded as the resolution otherwise. */
    note: z.string().trim().min(1).max(500).optional(),
  })
  .strict();

const flag = z.object({ flag: flagViewSchema });

/** What each route says of itself in the OpenAPI document (GET /openapi.json, GET /docs). */
const DOCS = {
  list: {
    summary: 'Findings for review',
    description:
      'What the service flagged for a person to look at (a failed refund, a late capture, an unresolved recharge), ' +
      'open ones by default, narrowed by code, resource and age; each lists the actions that may be taken on it.',
    tags: ['operations'],
    query: flagsQuerySchema,
    responses: { 200: { description: 'flags, newest first', body: listOf(flagViewSchema) } },
  },
  get: {
    summary: 'One review flag',
    tags: ['operations'],
    params: idParamSchema,
    responses: { 200: { description: 'the flag', body: flag } },
    errors: ['FLAG_NOT_FOUND'],
  },
  resolve: {
    summary: 'Resolve a review flag',
    description:
      'An operator closes a finding with a note; the flag records who and why, and the resource’s audit trail has it.',
    tags: ['operations'],
    params: idParamSchema,
    body: resolveBodySchema,
    example: { note: 'checked with the gateway: refunded by hand' },
    responses: { 200: { description: 'resolved', body: flag } },
    errors: ['FLAG_NOT_FOUND', 'FLAG_ALREADY_RESOLVED'],
  },
  act: {
    summary: 'Take one of a flag’s actions',
    description:
      'Runs an action the flag offers (its `actions`): `retry_refund`, `settle_refund_outside` (with a note), ' +
      '`close_trade` (close the unpaid trade at the gateway and fail the recharge), `settle_from_channel` (ask the ' +
      'channel now and settle by its answer). The action runs through the same use case or repair rule as elsewhere, ' +
      'audited as the operator; it resolves the flag when it removes the finding.',
    tags: ['operations'],
    params: idParamSchema,
    body: actionBodySchema,
    example: { action: 'retry_refund' },
    responses: {
      200: {
        description: 'the action ran (a refund sent again may still be pending, or declined again)',
        body: z.object({
          flag: flagViewSchema,
          refund: refundViewSchema.optional(),
          held: heldViewSchema.optional(),
          job: z.string().optional(),
        }),
      },
    },
    errors: [
      'FLAG_NOT_FOUND',
      'FLAG_ALREADY_RESOLVED',
      'FLAG_ACTION_NOT_OFFERED',
      'REFUND_NOT_FAILED',
      'REFUND_EXCEEDS_PAYMENT',
      'CONCURRENT_MODIFICATION',
    ],
  },
} satisfies Record<string, RouteDoc>;

/** Review flags: list with filters, resolve with a note, act where safe. Transport only. */
export function registerFlagRoutes(app: FastifyInstance, { flags }: { readonly flags: FlagsApi }): void {
  app.get('/api/v1/review-flags', { config: { permission: 'flags.read', openapi: DOCS.list } }, async (req, reply) => {
    const q = flagsQuerySchema.safeParse(req.query);
    if (!q.success) return send(reply, validationResult(req, q.error));
    const { status, open, code, resource_type, resource_id, since, limit } = q.data;
    const which = status ?? (open === 'false' ? 'all' : 'open');
    const data = await flags.list(req.caller, {
      ...(which === 'all' ? {} : { open: which === 'open' }),
      ...(code === undefined ? {} : { code }),
      ...(resource_type === undefined ? {} : { resourceType: resource_type }),
      ...(resource_id === undefined ? {} : { resourceId: resource_id }),
      ...(since === undefined ? {} : { since: Date.parse(since) }),
      limit,
    });
    return { data };
  });

  app.get(
    '/api/v1/review-flags/:id',
    { config: { permission: 'flags.read', openapi: DOCS.get } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('FLAG_NOT_FOUND', 'no such review flag', req.id));
      const r = await flags.get(req.caller, id);
      return r.ok ? { flag: r.value } : send(reply, problemResult(req, r.error));
    },
  );

  app.post(
    '/api/v1/review-flags/:id/resolve',
    { config: { permission: 'flags.resolve', openapi: DOCS.resolve } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('FLAG_NOT_FOUND', 'no such review flag', req.id));
      // Found first: a flag of another tenant answers as one that never existed, whatever the body.
      const found = await flags.get(req.caller, id);
      if (!found.ok) return send(reply, problemResult(req, found.error));
      const body = resolveBodySchema.safeParse(req.body ?? {});
      if (!body.success) return send(reply, validationResult(req, body.error));
      const r = await flags.resolve(req.caller, id, body.data.note);
      return r.ok ? { flag: r.value } : send(reply, problemResult(req, r.error));
    },
  );

  app.post(
    '/api/v1/review-flags/:id/actions',
    { config: { permission: 'flags.resolve', openapi: DOCS.act } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('FLAG_NOT_FOUND', 'no such review flag', req.id));
      const found = await flags.get(req.caller, id);
      if (!found.ok) return send(reply, problemResult(req, found.error));
      const body = actionBodySchema.safeParse(req.body ?? {});
      if (!body.success) return send(reply, validationResult(req, body.error));
      const r = await flags.act(req.caller, id, body.data.action, body.data.note);
      return r.ok ? r.value : send(reply, problemResult(req, r.error));
    },
  );
}
