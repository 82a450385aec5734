import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { HeldView } from '../../../application/kernel/holds.js';
import type { IdempotencyApi, IdempotencyRef } from '../../../application/kernel/idempotency.js';
import type { DomainError } from '../../../domain/result.js';
import { problem, sendProblem, statusForCode } from './problem.js';
import { describeIssues, idParamSchema } from './validation.js';

/** What a handler wants sent; `store` says whether an Idempotency-Key should remember it. */
export interface HttpResult {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly store: boolean;
}

/** Codes that mean "the request was invalid, no work began": such answers are not remembered. */
const NOT_STORED = new Set([
  'VALIDATION_FAILED',
  'INVALID_AMOUNT',
  'INVALID_CURRENCY',
  'INVALID_PAYMENT_METHOD',
  'AMOUNT_TOO_LARGE',
  'UNKNOWN_DRINK',
  'UNKNOWN_SIZE',
  'UNKNOWN_OPTION',
  'INVALID_QUANTITY',
  'CONCURRENT_MODIFICATION',
  'PHONE_INVALID_FORMAT',
  'PHONE_INVALID_LENGTH',
  'PHONE_NOT_MOBILE',
  'PHONE_UNKNOWN_SEGMENT',
  'PHONE_NOT_RECHARGEABLE',
  'FACE_VALUE_NOT_OFFERED',
  // Nothing was reserved: the same key may be used again once the wallet is topped up.
  'INSUFFICIENT_BALANCE',
]);

export function problemResult(
  req: FastifyRequest,
  error: DomainError & { errors?: readonly DomainError[] },
): HttpResult {
  const extensions: Record<string, unknown> = {};
  if (error.details !== undefined) extensions.details = error.details;
  if (error.errors !== undefined)
    extensions.errors = error.errors.map((e) => ({
      code: e.code,
      message: e.message,
      ...(e.details === undefined ? {} : e.details),
    }));
  return {
    status: statusForCode(error.code),
    body: problem(error.code, error.message, req.id, extensions),
    headers: { 'content-type': 'application/problem+json; charset=utf-8' },
    store: !NOT_STORED.has(error.code),
  };
}

export function validationResult(req: FastifyRequest, error: z.ZodError): HttpResult {
  return {
    status: 400,
    body: problem('VALIDATION_FAILED', 'the request is not valid', req.id, { errors: describeIssues(error) }),
    headers: { 'content-type': 'application/problem+json; charset=utf-8' },
    store: false,
  };
}

export function send(reply: FastifyReply, r: HttpResult): FastifyReply {
  void reply.code(r.status);
  for (const [k, v] of Object.entries(r.headers ?? {})) void reply.header(k, v);
  return r.body === null ? reply.send() : reply.send(r.body);
}

/**
 * Idempotency-Key handling for a POST (ACP §6 / Stripe): replay the first answer with
 * `Idempotent-Replayed: true`, 422 on a different body, 409 while the first is in flight.
 */
export async function idempotent(
  idempotency: IdempotencyApi,
  req: FastifyRequest,
  reply: FastifyReply,
  exec: (ref: IdempotencyRef | undefined, recoveryPoint: string | null) => Promise<HttpResult>,
  /** What the key is tied to, when the body itself is a stream not read yet. */
  identity: unknown = req.body ?? null,
): Promise<FastifyReply> {
  const header = req.headers['idempotency-key'];
  if (header === undefined) return send(reply, await exec(undefined, null));
  const key = Array.isArray(header) ? header.join(',') : header;
  const caller = req.caller;
  const scope = `${caller.actor} ${req.method} ${req.url.split('?')[0] ?? ''}`;
  const start = await idempotency.begin(caller.tenantId, scope, key, identity);
  switch (start.kind) {
    case 'invalid_key':
      return sendProblem(reply, problem('IDEMPOTENCY_KEY_INVALID', start.reason, req.id));
    case 'conflict':
      return sendProblem(
        reply,
        problem(
          'IDEMPOTENCY_CONFLICT',
          `Idempotency-Key "${key}" was first used with a different request body; ` +
            `use a new key for a different request`,
          req.id,
        ),
      );
    case 'in_flight':
      void reply.header('retry-after', String(start.retryAfterSeconds));
      return sendProblem(
        reply,
        problem(
          'IDEMPOTENCY_IN_FLIGHT',
          'a request with this Idempotency-Key is still being processed; retry later',
          req.id,
        ),
      );
    case 'replay': {
      void reply.code(start.status).header('idempotent-replayed', 'true');
      for (const [k, v] of Object.entries(start.headers)) void reply.header(k, v);
      return start.body === ''
        ? reply.send()
        : reply.type(start.headers['content-type'] ?? 'application/json; charset=utf-8').send(start.body);
    }
    case 'proceed': {
      let result: HttpResult;
      try {
        result = await exec(start.ref, start.recoveryPoint);
      } catch (e) {
        await idempotency.finish(caller.tenantId, start.ref, { status: 500, body: '', headers: {}, store: false });
        throw e;
      }
      const body = result.body === null ? '' : JSON.stringify(result.body);
      const headers = { 'content-type': 'application/json; charset=utf-8', ...result.headers };
      await idempotency.finish(caller.tenantId, start.ref, {
        status: result.status,
        body,
        headers,
        store: result.store,
      });
      void reply.code(result.status);
      for (const [k, v] of Object.entries(headers)) void reply.header(k, v);
      return body === '' ? reply.send() : reply.send(body);
    }
    default: {
      const never: never = start;
      throw new Error(`unknown idempotency state ${JSON.stringify(never)}`);
    }
  }
}

export function parseId(req: FastifyRequest): string | undefined {
  const p = idParamSchema.safeParse(req.params);
  return p.success ? p.data.id : undefined;
}

/**
 * A money action the policy held for the person: 202 with what will run and how to confirm
 * exactly that (`confirm.path` with `confirm.body`); stored for an idempotent retry.
 */
export function heldResult(held: HeldView): HttpResult {
  return { status: 202, body: { held }, headers: { location: held.confirm.path }, store: true };
}
