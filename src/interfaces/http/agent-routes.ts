import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type AgentReply, type AgentService, toParseOutput } from '../../application/agent/agent-api.js';
import type { IdempotencyApi } from '../../application/kernel/idempotency.js';
import type { DomainError, Result } from '../../domain/result.js';
import { type HttpResult, idempotent, send } from './plumbing/http-result.js';
import { problem, statusForCode } from './plumbing/problem.js';
import { describeIssues, idParamSchema } from './plumbing/validation.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';

const MAX_TEXT = 500;
const textSchema = z
  .string()
  .trim()
  .min(1, 'text is empty')
  .max(MAX_TEXT, `text is longer than ${MAX_TEXT} characters`);
const parseBodySchema = z.object({ text: textSchema }).strict();
const messageBodySchema = z
  .object({
    session_id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'session_id is 1–64 letters, digits, _ or -')
      .optional(),
    text: textSchema,
  })
  .strict();

/**
 * An error as problem+json that also carries `error: {code, message}`, the same object
 * `autoglm parse --json` prints, so one client reads both.
 */
function errorResult(
  req: FastifyRequest,
  e: { code: string; message: string; details?: Readonly<Record<string, unknown>> },
): HttpResult {
  const retryAfter =
    typeof e.details?.retry_after_ms === 'number'
      ? { 'retry-after': String(Math.ceil(e.details.retry_after_ms / 1000)) }
      : {};
  return {
    status: statusForCode(e.code),
    body: problem(e.code, e.message, req.id, {
      error: { code: e.code, message: e.message },
      ...(e.details === undefined ? {} : { details: e.details }),
    }),
    headers: { 'content-type': 'application/problem+json; charset=utf-8', ...retryAfter },
    store: false,
  };
}

function invalidBody(req: FastifyRequest, error: z.ZodError): HttpResult {
  const errors = describeIssues(error);
  return errorResult(req, {
    code: 'VALIDATION_FAILED',
    message: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    details: { errors },
  });
}

function replyResult(req: FastifyRequest, r: Result<AgentReply, DomainError>): HttpResult {
  return r.ok ? { status: 200, body: r.value, store: true } : errorResult(req, r.error);
}

/** What the agent answers: the session, the intent it read, and what the engine did (or asks). */
const agentReplySchema = z.object({
  session_id: z.string(),
  intent: z.looseObject({ action: z.string() }).nullable(),
  source: z.enum(['grammar', 'llm', 'confirmation']),
  outcome: z.looseObject({ kind: z.string() }),
  session_restarted: z.boolean(),
});
/** What reading words can end in (the grammar, or the model and its provider). */
const READING_ERRORS = [
  'INTENT_NOT_UNDERSTOOD',
  'INTENT_AMBIGUOUS',
  'INPUT_TOO_LONG',
  'UNKNOWN_ACTION',
  'INVALID_PHONE',
  // Values the words named that are refused rather than guessed (0.5杯, 100美元, a bidi override).
  'INVALID_QUANTITY',
  'INVALID_CURRENCY',
  'INVALID_AMOUNT',
  'AMOUNT_TOO_LARGE',
  'UNKNOWN_DRINK',
  'UNKNOWN_SIZE',
  'INVALID_CHARACTERS',
  'LLM_INVALID_OUTPUT',
  'LLM_UNAVAILABLE',
  'LLM_RATE_LIMITED',
  'LLM_TIMEOUT',
] as const;
/** The body of a session's confirm (read by the use case, which checks the digest). */
const sessionConfirmSchema = z.object({ digest: z.string().describe('the digest the agent showed') });

/** What each route says of itself in the OpenAPI document (GET /openapi.json, GET /docs). */
const DOCS = {
  parse: {
    summary: 'Words to intent',
    description:
      'Reads what a person wrote (Chinese or English) into an intent, or the question to ask for what is ' +
      'missing. Runs nothing.',
    tags: ['agent'],
    body: parseBodySchema,
    example: { text: '帮我点两杯大杯冰拿铁' },
    responses: {
      200: {
        description: 'the intent, or what to ask',
        body: z.union([
          z.object({
            intent: z.object({ action: z.string(), params: z.record(z.string(), z.unknown()) }),
            source: z.enum(['grammar', 'llm']),
          }),
          z.object({ clarify: z.object({ action: z.string(), missing: z.array(z.string()), question: z.string() }) }),
        ]),
      },
    },
    errors: READING_ERRORS,
  },
  message: {
    summary: 'Talk to the agent',
    description:
      'One message of a conversation: the agent reads it and acts within the policy; what needs the person ' +
      'comes back as a confirmation to make.',
    tags: ['agent'],
    body: messageBodySchema,
    example: { text: 'recharge 13800138000 with 50 yuan' },
    idempotent: true,
    responses: { 200: { description: 'the agent’s answer', body: agentReplySchema } },
    errors: [...READING_ERRORS, 'CONFIRMATION_NOT_FOUND', 'ACTION_UNAVAILABLE', 'NO_LAST_ORDER'],
  },
  confirm: {
    summary: 'Confirm what the agent proposed',
    description: 'The person confirms the action the session is waiting on, naming its digest.',
    tags: ['agent'],
    params: idParamSchema,
    body: sessionConfirmSchema,
    idempotent: true,
    responses: { 200: { description: 'the agent’s answer', body: agentReplySchema } },
    errors: ['CONFIRMATION_NOT_FOUND', 'CONFIRMATION_MISMATCH'],
  },
  actions: {
    summary: 'What the agent can do',
    description: 'Each action with its parameters (JSON Schema), risk, and whether it is available.',
    tags: ['agent'],
    responses: {
      200: {
        description: 'actions',
        body: z.object({
          data: z.array(
            z.object({
              name: z.string(),
              description: z.string(),
              risk: z.string(),
              available: z.boolean(),
              parameters: z.record(z.string(), z.unknown()),
            }),
          ),
        }),
      },
    },
  },
} satisfies Record<string, RouteDoc>;

/** POST /api/v1/intents/parse, POST /api/v1/agent/messages, session confirmation, the action list. */
export function registerAgentRoutes(
  app: FastifyInstance,
  { agent, idempotency }: { readonly agent: AgentService; readonly idempotency: IdempotencyApi },
): void {
  app.post(
    '/api/v1/intents/parse',
    { config: { permission: 'intents.parse', openapi: DOCS.parse } },
    async (req, reply: FastifyReply) => {
      const body = parseBodySchema.safeParse(req.body);
      if (!body.success) return send(reply, invalidBody(req, body.error));
      const out = toParseOutput(await agent.parse(body.data.text));
      if ('error' in out) return send(reply, errorResult(req, out.error));
      return out;
    },
  );

  app.post(
    '/api/v1/agent/messages',
    { config: { permission: 'agent.message', openapi: DOCS.message } },
    async (req, reply) => {
      const body = messageBodySchema.safeParse(req.body);
      if (!body.success) return send(reply, invalidBody(req, body.error));
      const b = body.data;
      // Honours Idempotency-Key like every POST: a retried message does not order twice.
      return idempotent(idempotency, req, reply, async () =>
        replyResult(
          req,
          await agent.message(req.caller, {
            text: b.text,
            ...(b.session_id === undefined ? {} : { sessionId: b.session_id }),
          }),
        ),
      );
    },
  );

  app.post(
    '/api/v1/agent/sessions/:id/confirm',
    { config: { permission: 'agent.confirm', openapi: DOCS.confirm } },
    async (req, reply) => {
      const id = idParamSchema.safeParse(req.params);
      if (!id.success)
        return send(reply, errorResult(req, { code: 'CONFIRMATION_NOT_FOUND', message: 'no such session' }));
      const digest = (req.body as { digest?: unknown } | undefined)?.digest;
      return idempotent(idempotency, req, reply, async () =>
        replyResult(req, await agent.confirm(req.caller, id.data.id, digest)),
      );
    },
  );

  app.get('/api/v1/actions', { config: { permission: 'actions.read', openapi: DOCS.actions } }, () => ({
    data: agent.actions(),
  }));
}
