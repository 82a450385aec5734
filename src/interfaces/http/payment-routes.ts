import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AbuseApi } from '../../application/abuse/abuse-api.js';
import type { PaymentsApi } from '../../application/payments/payments-api.js';
import { problem, sendProblem, statusForCode } from './plumbing/problem.js';
import { ipSource } from './plumbing/sources.js';

const gatewayParamSchema = z.object({ gateway: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/) }).strict();

/** Payment gateways: their health and their asynchronous callbacks. Transport only. */
export function registerPaymentRoutes(
  app: FastifyInstance,
  { payments, abuse }: { readonly payments: PaymentsApi; readonly abuse: Pick<AbuseApi, 'recordFailure'> },
): void {
  app.get('/api/v1/gateways', { config: { permission: 'gateways.read' } }, () => ({
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
    scope.post('/api/v1/callbacks/:gateway', { config: { public: true } }, async (req, reply) => {
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
      if (r.code === 'CALLBACK_SIGNATURE_INVALID') await abuse.recordFailure(ipSource(req), 'forged_callback', req.id);
      if (r.ack === null) return sendProblem(reply, problem(r.code, r.message, req.id));
      // The gateway's own refusal format, at our status for the reason, so it retries or gives up as it should.
      return reply.code(statusForCode(r.code)).type(r.ack.contentType).send(r.ack.body);
    });
    done();
  });
}
