import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { type BatchApi, readLines } from '../../application/batch/batch-api.js';
import type { IdempotencyApi } from '../../application/kernel/idempotency.js';
import type { HeldView } from '../../application/kernel/holds.js';
import { UseCaseError } from '../../application/kernel/use-case-error.js';
import { idempotent, parseId, problemResult, send } from './plumbing/http-result.js';
import { problem, sendProblem } from './plumbing/problem.js';
import { z } from 'zod';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { batchViewSchema, heldViewSchema } from './plumbing/openapi/view-schemas.js';
import { idParamSchema } from './plumbing/validation.js';

/** What each route says of itself in the OpenAPI document (GET /openapi.json, GET /docs). */
const DOCS = {
  create: {
    summary: 'Recharge many phones from a file',
    description:
      'CSV (`phone,amount`, an optional header) or JSON lines, read as a stream. Rows are checked on arrival ' +
      '(refused rows are listed); an untrusted or above-threshold batch is held whole for the person. Send ' +
      '`Content-Digest` to have the body checked.',
    tags: ['recharges'],
    bodyContent: { 'text/csv': z.string(), 'application/x-ndjson': z.string(), 'application/jsonl': z.string() },
    headers: {
      'Content-Digest':
        '`sha-256=:<base64>:` of the body (RFC 9530): a body changed on the way is refused, nothing charged',
    },
    idempotent: true,
    responses: {
      202: {
        description: 'accepted (poll it), or held for the person (`held`)',
        body: z.object({ batch: batchViewSchema, held: heldViewSchema.optional(), next: z.string() }),
        headers: { Location: 'the batch' },
      },
    },
    errors: [
      'UNSUPPORTED_MEDIA_TYPE',
      'VALIDATION_FAILED',
      'CONTENT_DIGEST_MISMATCH',
      'BATCH_TOO_LARGE',
      'DAILY_LIMIT_EXCEEDED',
      'INSUFFICIENT_BALANCE',
      'PAYLOAD_TOO_LARGE',
    ],
  },
  results: {
    summary: 'A batch’s result file',
    description:
      'CSV, one line per row in file order: `line,phone,amount,status,reason,recharge_id,channel` (numbers masked).',
    tags: ['recharges'],
    params: idParamSchema,
    responses: {
      200: {
        description: 'the result file',
        content: { 'text/csv': z.string() },
        headers: { 'Content-Disposition': 'attachment; filename="<id>-results.csv"' },
      },
    },
    errors: ['BATCH_NOT_FOUND'],
  },
  get: {
    summary: 'Where a batch stands',
    tags: ['recharges'],
    params: idParamSchema,
    responses: { 200: { description: 'the batch', body: z.object({ batch: batchViewSchema }) } },
    errors: ['BATCH_NOT_FOUND'],
  },
} satisfies Record<string, RouteDoc>;

/** Batch recharge from a file, its progress and its result file. Transport only. */
export function registerBatchRoutes(
  app: FastifyInstance,
  { batch, idempotency }: { readonly batch: BatchApi; readonly idempotency: IdempotencyApi },
): void {
  // A batch is a file, not JSON: CSV (`phone,amount`, optional header) or JSON lines, read as a
  // stream (never whole in memory), so a file of any length costs the same memory.
  void app.register((scope, _opts, done) => {
    scope.addContentTypeParser(['text/csv', 'application/x-ndjson', 'application/jsonl'], (_req, payload, next) =>
      next(null, payload),
    );
    scope.post(
      '/api/v1/recharges/batch',
      { config: { permission: 'batches.create', openapi: DOCS.create } },
      async (req, reply) => {
        const type = String(req.headers['content-type'] ?? '');
        const body = req.body as AsyncIterable<Uint8Array> | undefined;
        if (body === undefined || body === null || typeof body !== 'object' || !(Symbol.asyncIterator in body)) {
          return sendProblem(
            reply,
            problem('UNSUPPORTED_MEDIA_TYPE', 'send the batch as text/csv or application/x-ndjson', req.id),
          );
        }
        const digest = contentDigest(req.headers['content-digest']);
        if (digest === 'invalid')
          return sendProblem(
            reply,
            problem(
              'VALIDATION_FAILED',
              'Content-Digest must be sha-256=:<base64 of the SHA-256 of the body>:',
              req.id,
            ),
          );
        const format = type.startsWith('text/csv') ? 'csv' : 'ndjson';
        // The body is not read before the key is claimed: the key is tied to what identifies the file.
        const identity = { batch: format, sha256: digest ?? null, length: req.headers['content-length'] ?? null };
        return idempotent(
          idempotency,
          req,
          reply,
          async (ref, recovery) => {
            const r =
              recovery !== null
                ? await batch.get(req.caller, recovery)
                : await batch.receive(
                    req.caller,
                    { lines: readLines(digest === undefined ? body : checkedAgainst(body, digest)), format },
                    ref,
                  );
            if (!r.ok) return problemResult(req, r.error);
            const { held, ...view } = r.value as typeof r.value & { readonly held?: HeldView };
            return {
              status: 202,
              body:
                held === undefined
                  ? { batch: view, next: `poll GET /api/v1/batches/${view.id}` }
                  : { batch: view, held, next: `the person confirms it: POST ${held.confirm.path}` },
              headers: { location: `/api/v1/batches/${view.id}` },
              store: true,
            };
          },
          identity,
        );
      },
    );
    done();
  });

  app.get(
    '/api/v1/batches/:id/results',
    { config: { permission: 'batches.read', openapi: DOCS.results } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('BATCH_NOT_FOUND', 'no such batch', req.id));
      const found = await batch.get(req.caller, id);
      if (!found.ok) return send(reply, problemResult(req, found.error));
      const lines = batch.results(req.caller, id);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${id}-results.csv"`)
        .send(Readable.from(asLines(lines)));
    },
  );

  app.get('/api/v1/batches/:id', { config: { permission: 'batches.read', openapi: DOCS.get } }, async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('BATCH_NOT_FOUND', 'no such batch', req.id));
    const r = await batch.get(req.caller, id);
    return r.ok ? { batch: r.value } : send(reply, problemResult(req, r.error));
  });
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
