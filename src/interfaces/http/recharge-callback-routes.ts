import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../application/engine.js';
import { problem, sendProblem } from './problem.js';

const channelParamSchema = z.object({ channel: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/) }).strict();

/**
 * `POST /api/v1/recharge-callbacks/:channel`: a recharge channel's signed result (Juhe: a form
 * POST, or the same parameters in the query string). Transport only: the parameters (query, then
 * a form body over them) and the raw body go to the use case; the channel's own reply stops its
 * re-sends; a refusal is a problem document with a stable code.
 */
export function registerRechargeCallbackRoutes(app: FastifyInstance, engine: Engine): void {
  void app.register((scope, _opts, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, next) => next(null, body));
    scope.post('/api/v1/recharge-callbacks/:channel', async (req, reply) => {
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
      const r = await engine.handleRechargeCallback(p.data.channel, { params, headers, rawBody });
      if (!r.accepted) {
        void reply.header('x-error-code', r.code);
        return sendProblem(reply, problem(r.code, r.message, req.id));
      }
      void reply.header('x-callback-effect', r.effect);
      return reply.code(r.reply.status).type(r.reply.contentType).send(r.reply.body);
    });
    done();
  });
}
