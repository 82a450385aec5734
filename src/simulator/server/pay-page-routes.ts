import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  formFields,
  PAY_PAGE_PATH,
  payerPageOutcome,
  payPageBodySchema,
  payPageDeclines,
  payPageParamSchema,
  renderPayerPage,
} from '../../domain/payer-page.js';
import type { SimPayPages } from '../pay-pages.js';
import type { SimulatedGateway } from '../simulated-gateway.js';
import { problem } from './admin-routes.js';

const sendPage = (reply: FastifyReply, body: string): FastifyReply =>
  reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);

/**
 * `GET|POST /_sim/pay/:page` on the standalone simulator: the page a waiting trade's `pay_url`
 * opens, and the payer's Pay (or Decline) — the same page the service serves for its embedded
 * simulator. Paying settles the trade in the order book; the face that opened it then sends its
 * signed callback to the trade's notify_url, as after a scan at a real gateway.
 */
export function registerPayPageRoutes(
  app: FastifyInstance,
  bank: Pick<SimulatedGateway, 'payPending'>,
  pages: SimPayPages,
): void {
  void app.register((scope, _opts, done) => {
    // A browser's form arrives urlencoded; read it as text and take the one field it has.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, next) =>
      next(null, formFields(typeof body === 'string' ? body : body.toString('utf8'))),
    );
    const tradeOf = (params: unknown) => {
      const p = payPageParamSchema.safeParse(params);
      return p.success ? pages.trade(p.data.trade_no) : undefined;
    };
    scope.get(`${PAY_PAGE_PATH}/:trade_no`, (req, reply) => {
      const t = tradeOf(req.params);
      if (t === undefined) return problem(reply, 404, 'TRADE_NOT_FOUND', 'no such trade');
      return sendPage(reply, renderPayerPage(pages.shown(t)));
    });
    scope.post(`${PAY_PAGE_PATH}/:trade_no`, (req, reply) => {
      const t = tradeOf(req.params);
      if (t === undefined) return problem(reply, 404, 'TRADE_NOT_FOUND', 'no such trade');
      const b = payPageBodySchema.safeParse(req.body ?? {});
      if (!b.success) return problem(reply, 400, 'VALIDATION_FAILED', 'decline must be true or false');
      if (!bank.payPending(t.outTradeNo, payPageDeclines(b.data))) {
        return problem(reply, 409, 'TRADE_NOT_PENDING', `the trade is ${t.status}: it cannot be paid`, {
          trade_status: t.status,
        });
      }
      const shown = pages.shown(t);
      return sendPage(reply, renderPayerPage(shown, payerPageOutcome(shown)));
    });
    done();
  });
}
