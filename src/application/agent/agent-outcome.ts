import type { HeldView } from '../kernel/holds.js';
import type { OrderView } from '../orders/orders-api.js';

/** What the person is asked to confirm, and where that confirmation goes (never through text). */
export interface Confirmation {
  readonly action: string;
  /** In words, e.g. "1 × 大杯拿铁 large latte, ¥35.00". */
  readonly what: string;
  readonly order_id?: string;
  readonly amount?: number;
  readonly currency?: string;
  /** Who receives the money (a masked phone, a merchant…), when it is not an order. */
  readonly payee?: string;
  /** How it will be paid (wallet, alipay_qr, …), as the person is shown it. */
  readonly payment_method?: string;
  readonly method: 'POST';
  readonly path: string;
  /** Send this body with the confirmation: it names exactly what was shown (its digest). */
  readonly body?: { readonly digest: string };
}

/**
 * What the engine did with one message. Only the engine decides between these: a model's
 * words never turn a confirmation into a payment.
 */
export type AgentOutcome =
  /** Placed and paid (and fulfilled). */
  | { readonly kind: 'paid'; readonly order: OrderView }
  /** Placed; payment waits for the person (confirm says how) or is still in progress. */
  | { readonly kind: 'placed'; readonly order: OrderView; readonly next: string; readonly confirm?: Confirmation }
  /** Nothing ran: the policy wants the person's confirmation first. */
  | { readonly kind: 'awaiting_confirmation'; readonly confirm: Confirmation; readonly order?: OrderView }
  | { readonly kind: 'payment_failed'; readonly order: OrderView; readonly reason: string }
  | { readonly kind: 'cancelled'; readonly order: OrderView }
  | { readonly kind: 'found'; readonly order: OrderView }
  /** A registered action's own result. */
  | { readonly kind: 'done'; readonly action: string; readonly result: unknown }
  | {
      readonly kind: 'clarification';
      readonly action: string;
      readonly missing: readonly string[];
      readonly question: string;
    }
  | {
      readonly kind: 'refused';
      readonly code: string;
      readonly reason: string;
      readonly details?: Readonly<Record<string, unknown>>;
    };

/** The order an outcome is about, if any (the session remembers it as "last"). */
export function orderOf(o: AgentOutcome): OrderView | undefined {
  switch (o.kind) {
    case 'paid':
    case 'placed':
    case 'payment_failed':
    case 'cancelled':
    case 'found':
      return o.order;
    case 'awaiting_confirmation':
      return o.order;
    case 'done':
    case 'clarification':
    case 'refused':
      return undefined;
    default: {
      const never: never = o;
      throw new Error(`unknown outcome ${JSON.stringify(never)}`);
    }
  }
}

/** A held money action as the agent asks about it: every amount and payee, and its digest. */
export function confirmationOf(h: HeldView): Confirmation {
  return {
    action: h.action,
    what: h.what,
    amount: h.amount,
    currency: h.currency,
    payee: h.payee,
    payment_method: h.method,
    method: h.confirm.method,
    path: h.confirm.path,
    body: h.confirm.body,
  };
}

const yuan = (fen: number | undefined, currency = 'CNY'): string =>
  fen === undefined ? '' : `${(fen / 100).toFixed(2)} ${currency}`;

/** What the payer of a waiting QR payment needs, for the person to be handed it; empty otherwise. */
function payerNote(order: OrderView): string {
  const p = order.payment;
  if (p === null || p.qr_code === null) return '';
  const where = p.pay_url === null ? `scan ${p.qr_code}` : `open ${p.pay_url} (or scan its QR code)`;
  return ` — to pay, ${where}${p.expires_at === null ? '' : ` before ${p.expires_at}`}`;
}

/** A top-up or a directly paid recharge waiting for its payer (`{top_up}` / `{recharge}`): how to pay it. */
function resultPayerNote(result: unknown): string {
  const r = (result ?? {}) as { top_up?: PayerFields; recharge?: PayerFields } & PayerFields;
  const p = r.top_up ?? r.recharge ?? r;
  if (typeof p.qr_code !== 'string') return '';
  const where = typeof p.pay_url === 'string' ? `open ${p.pay_url} (or scan its QR code)` : `scan ${p.qr_code}`;
  return ` — to pay, ${where}${typeof p.expires_at === 'string' ? ` before ${p.expires_at}` : ''}`;
}
interface PayerFields {
  readonly qr_code?: unknown;
  readonly pay_url?: unknown;
  readonly expires_at?: unknown;
}

/** An outcome in one line, for a terminal or a model to read. */
export function describeOutcome(o: AgentOutcome): string {
  switch (o.kind) {
    case 'paid':
      return (
        `paid: ${o.order.description}, ${yuan(o.order.amount, o.order.currency)} — ` +
        `order ${o.order.id} ${o.order.status}`
      );
    case 'placed':
      return (
        `placed: ${o.order.description}, ${yuan(o.order.amount, o.order.currency)} — ` +
        `order ${o.order.id} ${o.order.status}${payerNote(o.order)}`
      );
    case 'awaiting_confirmation':
      return `awaiting your confirmation: ${o.confirm.what}`;
    case 'payment_failed':
      return `payment failed: ${o.reason} — order ${o.order.id}`;
    case 'cancelled':
      return `cancelled: order ${o.order.id}`;
    case 'found':
      return (
        `order ${o.order.id}: ${o.order.status} — ${o.order.status_text}; ${o.order.description}, ` +
        `${yuan(o.order.amount, o.order.currency)}${payerNote(o.order)}`
      );
    case 'done':
      return `${o.action}: ${JSON.stringify(o.result)}${resultPayerNote(o.result)}`;
    case 'clarification':
      return `? ${o.question}`;
    case 'refused':
      return `refused ${o.code}: ${o.reason}`;
    default: {
      const never: never = o;
      return JSON.stringify(never);
    }
  }
}
