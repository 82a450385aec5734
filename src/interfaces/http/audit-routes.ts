import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AuditApi } from '../../application/audit/audit-api.js';
import { problemResult, send, validationResult } from './plumbing/http-result.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { auditRowViewSchema } from './plumbing/openapi/view-schemas.js';

/** The resource types that write audit rows a tenant may read (data keys belong to no tenant). */
export const AUDITED_TYPES = [
  'order',
  'payment',
  'refund',
  'recharge',
  'top_up',
  'batch',
  'api_key',
  'mandate',
  'held_action',
  'principal',
  'webhook_subscription',
  'source_block',
  'tenant',
] as const;

const resourceId = z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/, 'a resource id: 1–128 letters, digits or _.:@-');

const auditQuerySchema = z
  .object({
    resource: z
      .string()
      .regex(/^[a-z_]+:.+$/, 'resource is TYPE:ID, e.g. recharge:rc_123')
      .optional()
      .describe('TYPE:ID, e.g. `recharge:rc_123` (or give resource_type and resource_id)'),
    resource_type: z.enum(AUDITED_TYPES).optional(),
    resource_id: resourceId.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z
      .string()
      .regex(/^[0-9]{1,15}$/, 'cursor is the next_cursor of the page before')
      .optional(),
  })
  .strict();

/** One resource, named one way: `resource=TYPE:ID`, or `resource_type` and `resource_id`. */
const auditQuery = auditQuerySchema.superRefine((v, ctx) => {
  const split = v.resource === undefined ? undefined : v.resource.indexOf(':');
  if (v.resource !== undefined && split !== undefined) {
    if (v.resource_type !== undefined || v.resource_id !== undefined)
      ctx.addIssue({ code: 'custom', path: ['resource'], message: 'give resource, or resource_type and resource_id' });
    if (!(AUDITED_TYPES as readonly string[]).includes(v.resource.slice(0, split)))
      ctx.addIssue({
        code: 'custom',
        path: ['resource'],
        message: `unknown resource type; one of ${AUDITED_TYPES.join(', ')}`,
      });
    if (!resourceId.safeParse(v.resource.slice(split + 1)).success)
      ctx.addIssue({ code: 'custom', path: ['resource'], message: 'a resource id: 1–128 letters, digits or _.:@-' });
  } else if (v.resource_type === undefined || v.resource_id === undefined) {
    ctx.addIssue({ code: 'custom', path: ['resource'], message: 'name the resource: resource=TYPE:ID' });
  }
});

const DOCS = {
  trail: {
    summary: 'Any resource’s audit trail',
    description:
      'Who did what to one resource and when, oldest first, with the state before and after: orders, payments, ' +
      'refunds, recharges, top-ups, batches, API keys, mandates, held actions, users, webhook endpoints, blocks. ' +
      'Name it as `resource=TYPE:ID` or as `resource_type` and `resource_id`. A page at a time: pass ' +
      '`next_cursor` back as `cursor`. Each row carries its chain (`shard`: one resource’s rows are all in ' +
      'one of the tenant’s hash chains) and its place in it (`seq`) ' +
      '(`autoglm audit verify` checks it). Only this tenant’s rows; an unknown id has an empty trail.',
    tags: ['operations'],
    query: auditQuerySchema,
    responses: {
      200: {
        description: 'its audit rows',
        body: z.object({ data: z.array(auditRowViewSchema), next_cursor: z.string().nullable() }),
      },
    },
  },
} satisfies Record<string, RouteDoc>;

/** GET /api/v1/audit: every resource's audit trail, in the caller's tenant. Transport only. */
export function registerAuditRoutes(app: FastifyInstance, { audit }: { readonly audit: AuditApi }): void {
  app.get('/api/v1/audit', { config: { permission: 'audit.read', openapi: DOCS.trail } }, async (req, reply) => {
    const q = auditQuery.safeParse(req.query ?? {});
    if (!q.success) return send(reply, validationResult(req, q.error));
    const { resource, limit, cursor } = q.data;
    const split = resource?.indexOf(':') ?? -1;
    const type = resource === undefined ? (q.data.resource_type ?? '') : resource.slice(0, split);
    const id = resource === undefined ? (q.data.resource_id ?? '') : resource.slice(split + 1);
    const page = await audit.trail(
      req.caller,
      { type, id },
      { after: cursor === undefined ? 0 : Number(cursor), limit },
    );
    if (!page.ok) return send(reply, problemResult(req, page.error));
    return {
      data: page.value.rows.map((a) => ({
        id: String(a.id),
        shard: a.shard,
        seq: a.seq,
        at: new Date(a.at).toISOString(),
        actor: a.actor,
        action: a.action,
        resource_type: a.resourceType,
        resource_id: a.resourceId,
        before: a.before,
        after: a.after,
        request_id: a.requestId,
      })),
      next_cursor: page.value.next === null ? null : String(page.value.next),
    };
  });
}
