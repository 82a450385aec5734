import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { formatMoney, type Currency } from '../../domain/money.js';
import { problem, sendProblem } from './plumbing/problem.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';

/** A trade that a payer opens a pay page for, as the page shows it. Amounts in minor units. */
export interface PayerPageTrade {
  readonly tradeNo: string;
  readonly amount: number;
  readonly currency: Currency;
  readonly subject: string;
  /** Who is paid (the merchant the gateway pays out to). */
  readonly payee: string;
  readonly method: string;
  readonly status: 'pending' | 'succeeded' | 'failed' | 'closed';
}

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

/** The page's name: the trade number and a MAC that only the link handed to the payer carries. */
const tradeParamSchema = z.object({ trade_no: z.string().regex(/^[A-Za-z0-9_.-]{1,96}$/) }).strict();
/** The page's form sends `decline=1` from its second button; a script may send JSON. */
const payBodySchema = z.object({ decline: z.union([z.boolean(), z.enum(['0', '1', 'true', 'false'])]).optional() });

const html = z.string();
const DOCS = {
  page: {
    summary: 'The embedded simulator’s pay page (the payer’s side)',
    description:
      'What a waiting payment’s `pay_url` (and QR code) opens when the built-in simulator is the gateway: the ' +
      'amount, the payee and a Pay button. Only there when a gateway of type `simulator` is configured.',
    tags: ['simulator'],
    params: tradeParamSchema,
    responses: { 200: { description: 'the page', content: { 'text/html': html } } },
    errors: ['TRADE_NOT_FOUND'],
  },
  pay: {
    summary: 'Pay (or decline) a waiting trade at the embedded simulator',
    description:
      'The payer’s act: the simulator captures the trade and sends its signed callback, as a real gateway does ' +
      'after a scan. `decline` fails it instead. Answered with a page for the browser that sent the form.',
    tags: ['simulator'],
    params: tradeParamSchema,
    bodyContent: {
      'application/x-www-form-urlencoded': z.record(z.string(), z.string()),
      'application/json': payBodySchema,
    },
    bodyOptional: true,
    responses: { 200: { description: 'paid (or declined): the page says which', content: { 'text/html': html } } },
    errors: ['TRADE_NOT_FOUND', 'TRADE_NOT_PENDING', 'VALIDATION_FAILED'],
  },
} satisfies Record<string, RouteDoc>;

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return (
    `<!doctype html><html lang="zh"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title>` +
    `<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}` +
    `.amount{font-size:2rem;margin:.5rem 0}button{font-size:1.1rem;padding:.6rem 1.4rem;margin-right:.5rem}` +
    `</style></head><body>${body}</body></html>`
  );
}

function tradePage(t: PayerPageTrade, note?: string): string {
  const amount = escapeHtml(formatMoney({ amount: t.amount, currency: t.currency }));
  const head =
    `<h1>Simulated payment 模拟支付</h1><p>Pay <strong>${escapeHtml(t.payee)}</strong></p>` +
    `<p class="amount">${amount}</p><p>${escapeHtml(t.subject)}</p>` +
    `<p><small>trade ${escapeHtml(t.tradeNo)} · ${escapeHtml(t.method)}</small></p>`;
  if (note !== undefined) return page('Simulated payment', `${head}<p><strong>${escapeHtml(note)}</strong></p>`);
  if (t.status !== 'pending') {
    return page('Simulated payment', `${head}<p><strong>This trade is ${escapeHtml(t.status)}.</strong></p>`);
  }
  const form =
    `<form method="post"><button type="submit">Pay 付款 ${amount}</button>` +
    `<button type="submit" name="decline" value="1">Decline 拒绝</button></form>`;
  return page('Simulated payment', head + form);
}

const sendPage = (reply: FastifyReply, body: string): FastifyReply =>
  reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);

/** `GET|POST /_sim/pay/:trade_no`: public, like a gateway's own pay page. */
export function registerPayerPageRoutes(app: FastifyInstance, pages: PayerPages): void {
  void app.register((scope, _opts, done) => {
    // A browser's form arrives urlencoded; read it as text and take the one field it has.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, next) =>
      next(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8')))),
    );
    scope.get('/_sim/pay/:trade_no', { config: { public: true, openapi: DOCS.page } }, (req, reply) => {
      const p = tradeParamSchema.safeParse(req.params);
      const trade = p.success ? pages.show(p.data.trade_no) : undefined;
      if (trade === undefined) return sendProblem(reply, problem('TRADE_NOT_FOUND', 'no such trade', req.id));
      return sendPage(reply, tradePage(trade));
    });
    scope.post('/_sim/pay/:trade_no', { config: { public: true, openapi: DOCS.pay } }, async (req, reply) => {
      const p = tradeParamSchema.safeParse(req.params);
      if (!p.success) return sendProblem(reply, problem('TRADE_NOT_FOUND', 'no such trade', req.id));
      const b = payBodySchema.safeParse(req.body ?? {});
      if (!b.success) {
        return sendProblem(reply, problem('VALIDATION_FAILED', 'decline must be true or false', req.id));
      }
      const decline = b.data.decline === true || b.data.decline === '1' || b.data.decline === 'true';
      const r = await pages.pay(p.data.trade_no, decline);
      if (r === undefined) return sendProblem(reply, problem('TRADE_NOT_FOUND', 'no such trade', req.id));
      if (!r.paid) {
        return sendProblem(
          reply,
          problem('TRADE_NOT_PENDING', `the trade is ${r.trade.status}: it cannot be paid`, req.id, {
            trade_status: r.trade.status,
          }),
        );
      }
      const note = r.trade.status === 'succeeded' ? 'Paid 已付款' : `Not paid: ${r.trade.status}`;
      return sendPage(reply, tradePage(r.trade, note));
    });
    done();
  });
}
