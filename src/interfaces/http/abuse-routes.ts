import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { AbuseApi } from '../../application/abuse/abuse-api.js';
import { MAX_MANUAL_BLOCK_MS } from '../../domain/abuse.js';
import { parseId, problemResult, send, validationResult } from './plumbing/http-result.js';
import { problem, sendProblem } from './plumbing/problem.js';
import { sourcesOf } from './plumbing/sources.js';
import { z } from 'zod';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { blockViewSchema, listOf } from './plumbing/openapi/view-schemas.js';
import { idParamSchema } from './plumbing/validation.js';

const ip = z.union([z.ipv4(), z.ipv6()]);
/** A source as blocks key it: `ip:<address>`, or `credential:<hash>` as the list shows (never a key itself). */
const sourceSchema = z.union([
  z.templateLiteral(['ip:', z.string()]).refine((s) => ip.safeParse(s.slice(3)).success, 'ip:<IPv4 or IPv6 address>'),
  z.string().regex(/^credential:[A-Za-z0-9_-]{32}$/, 'credential:<the 32-character hash blocks show>'),
]);
const blockBodySchema = z
  .object({
    source: sourceSchema,
    minutes: z
      .number()
      .int()
      .min(1)
      .max(MAX_MANUAL_BLOCK_MS / 60_000),
    /** Why: required, kept in the audit trail. */
    note: z.string().trim().min(1).max(500),
  })
  .strict();

/** What each route says of itself in the OpenAPI document (GET /openapi.json, GET /docs). */
const DOCS = {
  block: {
    summary: 'Block a source by hand',
    description:
      'An address (`ip:203.0.113.7`; IPv6 is blocked by its /64, as requests are counted) or a credential (by the ' +
      'hash blocks show) is refused for `minutes` on every instance: 403 SOURCE_BLOCKED. Audited with the note. ' +
      'The source the request itself comes from is refused, so nobody locks themselves out.',
    tags: ['operations'],
    body: blockBodySchema,
    example: { source: 'ip:203.0.113.7', minutes: 60, note: 'probing the callback endpoint' },
    responses: { 201: { description: 'the block', body: z.object({ block: blockViewSchema }) } },
    errors: ['SOURCE_ALREADY_BLOCKED', 'BLOCK_OWN_SOURCE', 'BLOCKING_DISABLED'],
  },
  list: {
    summary: 'Blocked sources',
    description: 'What is blocked, until when, and why.',
    tags: ['operations'],
    responses: { 200: { description: 'blocks', body: listOf(blockViewSchema) } },
  },
  lift: {
    summary: 'Lift a block early',
    tags: ['operations'],
    params: idParamSchema,
    responses: { 200: { description: 'the lifted block', body: z.object({ block: blockViewSchema }) } },
    errors: ['BLOCK_NOT_FOUND'],
  },
} satisfies Record<string, RouteDoc>;

/** Blocked sources, for operators: what is blocked and why, and lifting a block early. Transport only. */
export function registerAbuseRoutes(app: FastifyInstance, { abuse }: { readonly abuse: AbuseApi }): void {
  app.get('/api/v1/admin/blocks', { config: { permission: 'blocks.manage', openapi: DOCS.list } }, async () => ({
    data: await abuse.list(),
  }));

  app.post(
    '/api/v1/admin/blocks',
    { config: { permission: 'blocks.manage', openapi: DOCS.block } },
    async (req, reply) => {
      const b = blockBodySchema.safeParse(req.body ?? {});
      if (!b.success) return send(reply, validationResult(req, b.error));
      // An IPv6 address is counted and blocked by its /64, an IPv4-mapped one as IPv4: the same here.
      const source = b.data.source.startsWith('ip:') ? `ip:${normalizeIP(b.data.source.slice(3))}` : b.data.source;
      if (sourcesOf(req).includes(source))
        return sendProblem(reply, problem('BLOCK_OWN_SOURCE', `${source} is where this request comes from`, req.id));
      const r = await abuse.block({
        source,
        durationMs: b.data.minutes * 60_000,
        note: b.data.note,
        by: req.caller.actor,
        requestId: req.id,
      });
      return r.ok ? reply.code(201).send({ block: r.value }) : send(reply, problemResult(req, r.error));
    },
  );

  app.delete(
    '/api/v1/admin/blocks/:id',
    { config: { permission: 'blocks.manage', openapi: DOCS.lift } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('BLOCK_NOT_FOUND', 'no such block', req.id));
      const r = await abuse.lift(id, req.caller.actor, req.id);
      return r.ok ? { block: r.value } : send(reply, problemResult(req, r.error));
    },
  );
}
