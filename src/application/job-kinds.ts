/** The kinds of durable work an order goes through. Stored in the job table: never rename. */
export const JOB = {
  payOrder: 'order.pay',
  fulfilOrder: 'order.fulfil',
  executeRefund: 'refund.execute',
  resolveLateCapture: 'payment.late_capture',
  expireOrder: 'order.expire',
  payTopUp: 'wallet.top_up',
  executeRecharge: 'recharge.execute',
  expandRechargeBatch: 'recharge.batch',
  refundRechargePayment: 'recharge.refund_payment',
} as const;

/** Priorities: money already moving comes first; clean-up last. */
export const PRIORITY = {
  refund: 30,
  fulfil: 20,
  pay: 10,
  /** Turning a batch's rows into recharges: ahead of the rows themselves so they keep coming. */
  batchExpand: 5,
  /** A batch's recharges: after anyone's single request. */
  batch: 2,
  expire: 0,
} as const;
