import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  formFields,
  PAY_PAGE_PATH,
  payerPageOutcome,
  payPageBodySchema,
  payPageDeclines,
  payPageParamSchema,
  type PayerPageTrade,
  renderPayerPage,
} from '../../domain/payer-page.js';
import { problem, sendProblem } from './plumbing/problem.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';

/**
 * The embedded payment simulator's pay pages: what a payer sees when they scan a waiting trade's
 * QR code or open its pay URL, and the act of paying. The composition root builds it from the
 * simulator (interfaces know no simulator); a real gateway has its own pages on its own site.
 */
export interface PayerPages {
  /** The trade behind a pay page's name (from its `pay_url`); undefined when there is none. */
  show(page: string): PayerPageTrade | undefined;
  /**
   * The payer pays (or declines) a waiting trade; the gateway's signed callback has been
   * delivered when this resolves. Undefined when there is no such trade; the trade unchanged
   * (not pending) when it could not be paid any more.
   */
  pay(
    tradeNo: string,
    decline: boolean,
  ): Promise<{ readonly paid: boolean; readonly trade: PayerPageTrade } | undefined>;
}

const html = z.string();
const DOCS = {
  page: {
    summary: 'The embedded simulator’s pay page (the payer’s side)',
    description:
      'What a waiting payment’s `pay_url` (and QR code) opens when the built-in simulator is the gateway: the ' +
      'amount, the payee and a Pay button. Only there when a gateway of type `simulator` is configured.',
    tags: ['simulator'],
    params: payPageParamSchema,
    responses: { 200: { description: 'the page', content: { 'text/html': html } } },
    errors: ['TRADE_NOT_FOUND'],
  },
  pay: {
    summary: 'Pay (or decline) a waiting trade at the embedded simulator',
    description:
      'The payer’s act: the simulator captures the trade and sends its signed callback, as a real gateway does ' +
      'after a scan. `decline` fails it instead. Answered with a page for the browser that sent the form.',
    tags: ['simulator'],
    params: payPageParamSchema,
    bodyContent: {
      'application/x-www-form-urlencoded': z.record(z.string(), z.string()),
      'application/json': payPageBodySchema,
    },
    bodyOptional: true,
    responses: { 200: { description: 'paid (or declined): the page says which', content: { 'text/html': html } } },
    errors: ['TRADE_NOT_FOUND', 'TRADE_NOT_PENDING', 'VALIDATION_FAILED'],
  },
} satisfies Record<string, RouteDoc>;

const sendPage = (reply: FastifyReply, body: string): FastifyReply =>
  reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);

/** `GET|POST /_sim/pay/:trade_no`: public, like a gateway's own pay page. */
export function registerPayerPageRoutes(app: FastifyInstance, pages: PayerPages): void {
  void app.register((scope, _opts, done) => {
    // A browser's form arrives urlencoded; read it as text and take the one field it has.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, next) =>
      next(null, formFields(typeof body === 'string' ? body : body.toString('utf8'))),
    );
    scope.get(`${PAY_PAGE_PATH}/:trade_no`, { config: { public: true, openapi: DOCS.page } }, (req, reply) => {
      const p = payPageParamSchema.safeParse(req.params);
      const trade = p.success ? pages.show(p.data.trade_no) : undefined;
      if (trade === undefined) return sendProblem(reply, problem('TRADE_NOT_FOUND', 'no such trade', req.id));
      return sendPage(reply, renderPayerPage(trade));
    });
    scope.post(`${PAY_PAGE_PATH}/:trade_no`, { config: { public: true, openapi: DOCS.pay } }, async (req, reply) => {
      const p = payPageParamSchema.safeParse(req.params);
      if (!p.success) return sendProblem(reply, problem('TRADE_NOT_FOUND', 'no such trade', req.id));
      const b = payPageBodySchema.safeParse(req.body ?? {});
      if (!b.success) {
        return sendProblem(reply, problem('VALIDATION_FAILED', 'decline must be true or false', req.id));
      }
      const r = await pages.pay(p.data.trade_no, payPageDeclines(b.data));
      if (r === undefined) return sendProblem(reply, problem('TRADE_NOT_FOUND', 'no such trade', req.id));
      if (!r.paid) {
        return sendProblem(
          reply,
          problem('TRADE_NOT_PENDING', `the trade is ${r.trade.status}: it cannot be paid`, req.id, {
            trade_status: r.trade.status,
          }),
        );
      }
      return sendPage(reply, renderPayerPage(r.trade, payerPageOutcome(r.trade)));
    });
    done();
  });
}
