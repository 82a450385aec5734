import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ReconciliationApi } from '../../application/reconciliation/reconciliation-api.js';
import { STATEMENT_FORMATS } from '../../domain/statements/statement-line.js';
import { parseId, problemResult, send } from './plumbing/http-result.js';
import { problem, sendProblem } from './plumbing/problem.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import {
  listOf,
  reconciliationSummarySchema,
  reconciliationViewSchema,
  repairViewSchema,
} from './plumbing/openapi/view-schemas.js';
import { idParamSchema } from './plumbing/validation.js';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const runBody = z
  .object({
    source: z.string().regex(NAME, 'a gateway or recharge channel name'),
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD'),
    statement: z
      .object({
        content_base64: z.string().min(1).max(40_000_000).describe('the statement file as downloaded, base64'),
        name: z.string().min(1).max(200).optional(),
        format: z.enum(STATEMENT_FORMATS).optional().describe("its layout (default: the source's own)"),
      })
      .strict()
      .optional()
      .describe('a statement you downloaded yourself; left out, it is fetched from the source'),
  })
  .strict();
const listQuery = z
  .object({
    source: z.string().regex(NAME).optional(),
    date: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    before: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional(),
  })
  .strict();

const TAGS: ['reconciliation'] = ['reconciliation'];
const DOCS = {
  run: {
    summary: 'Reconcile a source’s statement of one day',
    description:
      'Fetches the gateway’s or recharge channel’s statement of `date` (or takes the file given), matches it ' +
      'against our payments, refunds and recharges on out_trade_no / out_refund_no / the recharge order id and ' +
      'amounts (±1 day for the cut-off), stores the report and proposes a repair for each problem item. ' +
      'Items span every tenant of the deployment.',
    tags: TAGS,
    body: runBody,
    example: { source: 'simulator', date: '2026-12-04' },
    responses: { 201: { description: 'the report', body: z.object({ reconciliation: reconciliationViewSchema }) } },
    errors: ['RECONCILIATION_SOURCE_UNKNOWN', 'STATEMENT_UNAVAILABLE', 'STATEMENT_INVALID'],
  },
  list: {
    summary: 'Reconciliations, newest first',
    description:
      'Each run as a summary (status, error, totals); `GET /api/v1/reconciliations/{id}` gives its items and ' +
      'repairs. A run whose fetched statement could not be had or read, or that broke, is listed `failed` with why.',
    tags: TAGS,
    query: listQuery,
    responses: { 200: { description: 'summaries', body: listOf(reconciliationSummarySchema) } },
  },
  get: {
    summary: 'One reconciliation report with its repairs',
    tags: TAGS,
    params: idParamSchema,
    responses: { 200: { description: 'the report', body: z.object({ reconciliation: reconciliationViewSchema }) } },
    errors: ['RECONCILIATION_NOT_FOUND'],
  },
  apply: {
    summary: 'Apply a proposed repair',
    description:
      'Settles from the channel’s truth (补单), gives back a capture we never sold, rechecks an item missing at ' +
      'the channel (from T+2), or flags it for a person. Audited; applying again answers the applied repair.',
    tags: TAGS,
    params: idParamSchema,
    bodyOptional: true,
    responses: { 200: { description: 'the repair as decided', body: z.object({ repair: repairViewSchema }) } },
    errors: ['REPAIR_NOT_FOUND', 'REPAIR_NOT_DUE'],
  },
} satisfies Record<string, RouteDoc>;

/**
 * Reconciliation: POST/GET /api/v1/reconciliations, GET /api/v1/reconciliations/:id and
 * POST /api/v1/reconciliation-repairs/:id/apply. Transport only.
 */
export function registerReconciliationRoutes(
  app: FastifyInstance,
  { reconciliation }: { readonly reconciliation: ReconciliationApi },
): void {
  const invalid = (req: FastifyRequest, issues: z.ZodError) =>
    problem(
      'VALIDATION_FAILED',
      issues.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
      req.id,
    );

  app.post(
    '/api/v1/reconciliations',
    { config: { permission: 'reconciliations.run' as const, openapi: DOCS.run } },
    async (req, reply) => {
      const b = runBody.safeParse(req.body ?? {});
      if (!b.success) return sendProblem(reply, invalid(req, b.error));
      const { source, date, statement } = b.data;
      const r = await reconciliation.run(req.caller, {
        source,
        date,
        ...(statement === undefined
          ? {}
          : {
              file: {
                bytes: Buffer.from(statement.content_base64, 'base64'),
                name: statement.name ?? `${source}-${date}`,
                ...(statement.format === undefined ? {} : { format: statement.format }),
              },
            }),
      });
      return r.ok ? reply.code(201).send({ reconciliation: r.value }) : send(reply, problemResult(req, r.error));
    },
  );

  app.get(
    '/api/v1/reconciliations',
    { config: { permission: 'reconciliations.read' as const, openapi: DOCS.list } },
    async (req, reply) => {
      const q = listQuery.safeParse(req.query ?? {});
      if (!q.success) return sendProblem(reply, invalid(req, q.error));
      const r = await reconciliation.list(req.caller, {
        limit: q.data.limit,
        ...(q.data.source === undefined ? {} : { source: q.data.source }),
        ...(q.data.date === undefined ? {} : { date: q.data.date }),
        ...(q.data.before === undefined ? {} : { before: q.data.before }),
      });
      return r.ok ? { data: r.value } : send(reply, problemResult(req, r.error));
    },
  );

  app.get(
    '/api/v1/reconciliations/:id',
    { config: { permission: 'reconciliations.read' as const, openapi: DOCS.get } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined)
        return sendProblem(reply, problem('RECONCILIATION_NOT_FOUND', 'no such reconciliation', req.id));
      const r = await reconciliation.get(req.caller, id);
      return r.ok ? { reconciliation: r.value } : send(reply, problemResult(req, r.error));
    },
  );

  app.post(
    '/api/v1/reconciliation-repairs/:id/apply',
    { config: { permission: 'reconciliations.run' as const, openapi: DOCS.apply } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('REPAIR_NOT_FOUND', 'no such repair', req.id));
      const r = await reconciliation.apply(req.caller, id);
      return r.ok ? { repair: r.value } : send(reply, problemResult(req, r.error));
    },
  );
}
