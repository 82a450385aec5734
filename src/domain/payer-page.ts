import { z } from 'zod';
import { formatMoney, type Currency } from './money.js';

/**
 * The simulated gateway's pay page — what a payer sees when they scan a waiting trade's QR code
 * or open its `pay_url` — shared by the two places that serve it: the service's HTTP server (the
 * embedded simulator) and the standalone simulator. Pure: it renders text and reads a form; the
 * servers own the routes, the lookup of a page's trade and the act of paying.
 */

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

/** Where a pay page is served, below the server's address: `${PAY_PAGE_PATH}/<page name>`. */
export const PAY_PAGE_PATH = '/_sim/pay';

/** A page's name: the trade number and a MAC that only the link handed to the payer carries. */
export const payPageParamSchema = z.object({ trade_no: z.string().regex(/^[A-Za-z0-9_.-]{1,96}$/) }).strict();

/** The page's form sends `decline=1` from its second button; a script may send JSON. */
export const payPageBodySchema = z.object({
  decline: z.union([z.boolean(), z.enum(['0', '1', 'true', 'false'])]).optional(),
});

/** Whether a (parsed) pay-page body asks to decline: the form's `decline=1`, or JSON `true`. */
export function payPageDeclines(body: z.infer<typeof payPageBodySchema>): boolean {
  return body.decline === true || body.decline === '1' || body.decline === 'true';
}

/** Reads a browser's urlencoded form into its fields (the pay page's form has at most one). */
export function formFields(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body));
}

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

/**
 * The page for a trade: amount, payee, subject and — while it waits — a form that posts back to
 * the same address with a Pay and a Decline button. With `note` (after the payer acted), the
 * outcome instead of the form. Every value is HTML-escaped.
 */
export function renderPayerPage(t: PayerPageTrade, note?: string): string {
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

/** What the page says after the payer acted on a waiting trade. */
export function payerPageOutcome(t: PayerPageTrade): string {
  return t.status === 'succeeded' ? 'Paid 已付款' : `Not paid: ${t.status}`;
}
