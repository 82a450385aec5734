import type { OrderView } from './order-view.js';

/** How an order request ended, for transports to map (HTTP: 201 / 202 / 402). */
export type OrderOutcome =
  | { readonly kind: 'completed'; readonly order: OrderView }
  | { readonly kind: 'accepted'; readonly order: OrderView; readonly next: string }
  | { readonly kind: 'payment_failed'; readonly order: OrderView };

/** Where an order stands, as the outcome a request reports. */
export function classifyOrder(view: OrderView): OrderOutcome {
  switch (view.status) {
    case 'COMPLETED':
      return { kind: 'completed', order: view };
    case 'FAILED':
      return { kind: 'payment_failed', order: view };
    case 'AWAITING_CONFIRMATION':
      return { kind: 'accepted', order: view, next: `confirm with POST /api/v1/orders/${view.id}/confirm` };
    case 'AWAITING_PAYMENT':
      return {
        kind: 'accepted',
        order: view,
        next: `placed, awaiting payment (已下单，待付款): confirm with POST /api/v1/orders/${view.id}/confirm`,
      };
    default: {
      const pay = view.payment;
      if (view.status === 'PAYMENT_PROCESSING' && pay?.qr_code != null) {
        const where = pay.pay_url === null ? 'scan payment.qr_code' : 'scan payment.qr_code or open payment.pay_url';
        return {
          kind: 'accepted',
          order: view,
          next:
            `waiting for the payer (待付款): ${where}` +
            (pay.expires_at === null ? '' : ` before ${pay.expires_at}`) +
            `; poll GET /api/v1/orders/${view.id}`,
        };
      }
      return { kind: 'accepted', order: view, next: `in progress: poll GET /api/v1/orders/${view.id}` };
    }
  }
}
