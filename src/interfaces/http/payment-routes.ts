import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AbuseApi } from '../../application/abuse/abuse-api.js';
import type { PaymentsApi } from '../../application/payments/payments-api.js';
import { problem, sendProblem, statusForCode } from './plumbing/problem.js';
import { ipSource } from './plumbing/sources.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { listOf } from './plumbing/openapi/view-schemas.js';

const gatewayParamSchema = z.object({ gateway: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/) }).strict();

/** What each route says of itself in the OpenAPI document (GET /openapi.json, GET /docs). */
const DOCS = {
  gateways: {
    summary: 'Payment gateways and their health',
    tags: ['operations'],
    responses: {
      200: {
        description: 'every gateway',
        body: listOf(
          z.object({
            name: z.string(),
            methods: z.array(z.string()),
            breaker: z.enum(['closed', 'open', 'half-open', 'isolated']).optional(),
            available: z.boolean().optional(),
            in_flight: z.number().int().optional(),
            calls: z.number().int().optional(),
            failures: z.number().int().optional(),
          }),
        ),
      },
    },
  },
  callback: {
    summary: 'A payment gateway’s signed notification',
    description:
      'For the gateways (Alipay: a form; WeChat Pay and the simulator: JSON), checked by their signature over ' +
      'the exact bytes. Answered in the gateway’s own format, so it stops or retries as it should.',
    tags: ['callbacks'],
    params: gatewayParamSchema,
    bodyContent: {
      'application/json': z.unknown(),
      'application/x-www-form-urlencoded': z.record(z.string(), z.string()),
    },
    responses: {
      200: {
        description: 'the gateway’s own acknowledgement',
        content: { 'text/plain': z.string(), 'application/json': z.unknown() },
        headers: { 'X-Callback-Effect': 'what the callback did' },
      },
    },
    errors: [
      'GATEWAY_NOT_CONFIGURED',
      'CALLBACK_MALFORMED',
      'CALLBACK_SIGNATURE_INVALID',
      'CALLBACK_STALE',
      'CALLBACK_REPLAYED',
      'CALLBACK_UNKNOWN_PAYMENT',
      'CALLBACK_AMOUNT_MISMATCH',
    ],
    errorContent: { 'application/json': z.unknown(), 'text/plain': z.string(), 'application/xml': z.string() },
  },
} satisfies Record<string, RouteDoc>;

/** Payment gateways: their health and their asynchronous callbacks. Transport only. */
export function registerPaymentRoutes(
  app: FastifyInstance,
  { payments, abuse }: { readonly payments: PaymentsApi; readonly abuse: Pick<AbuseApi, 'recordFailure'> },
): void {
  app.get('/api/v1/gateways', { config: { permission: 'gateways.read', openapi: DOCS.gateways } }, () => ({
    data: payments.gateways().map((g) => ({
      name: g.name,
      methods: g.methods,
      ...(g.health === null
        ? {}
        : {
            breaker: g.health.breaker,
            available: g.health.available,
            in_flight: g.health.inFlight,
            calls: g.health.calls,
            failures: g.health.failures,
          }),
    })),
  }));

  // Callbacks carry their signature over the exact bytes received: keep the body as text,
  // whatever its type (JSON for WeChat Pay and the simulator, a form for Alipay).
  void app.register((scope, _opts, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, next) => next(null, body));
    scope.post(
      '/api/v1/callbacks/:gateway',
      { config: { public: true, openapi: DOCS.callback } },
      async (req, reply) => {
        const p = gatewayParamSchema.safeParse(req.params);
        if (!p.success) return sendProblem(reply, problem('GATEWAY_NOT_CONFIGURED', 'no such gateway', req.id));
        const headers: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
        const body = typeof req.body === 'string' ? req.body : '';
        const r = await payments.handleCallback(p.data.gateway, { headers, body });
        if (r.accepted) {
          void reply.header('x-callback-effect', r.effect);
          return reply.code(r.ack.status).type(r.ack.contentType).send(r.ack.body);
        }
        void reply.header('x-error-code', r.code);
        // A forged signature counts against the sender's address: enough of them and it is blocked.
        if (r.code === 'CALLBACK_SIGNATURE_INVALID')
          await abuse.recordFailure(ipSource(req), 'forged_callback', req.id);
        if (r.ack === null) return sendProblem(reply, problem(r.code, r.message, req.id));
        // The gateway's own refusal format, at our status for the reason, so it retries or gives up as it should.
        return reply.code(statusForCode(r.code)).type(r.ack.contentType).send(r.ack.body);
      },
    );
    done();
  });
}
