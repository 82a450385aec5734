/** The kinds of durable work an order goes through. Stored in the job table: never rename. */
export const JOB = {
  payOrder: 'order.pay',
  fulfilOrder: 'order.fulfil',
  executeRefund: 'refund.execute',
  resolveLateCapture: 'payment.late_capture',
  expireOrder: 'order.expire',
  payTopUp: 'wallet.top_up',
  executeRecharge: 'recharge.execute',
} as const;

/** Priorities: money already moving comes first; clean-up last. */
export const PRIORITY = {
  refund: 30,
  fulfil: 20,
  pay: 10,
  expire: 0,
} as const;
