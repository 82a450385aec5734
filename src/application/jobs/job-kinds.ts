/** The kinds of durable work. Stored in the job table: never rename one (add a migration). */
export const JOB = {
  payOrder: 'order.pay',
  fulfilOrder: 'order.fulfil',
  expireOrder: 'order.expire',
  executeRefund: 'refund.execute',
  resolveLateCapture: 'payment.late_capture',
  payTopUp: 'wallet.top_up',
  /** A recharge paid by a payment of its own: charging that payment (migration 0008 moved such jobs here). */
  payRecharge: 'recharge.pay',
  executeRecharge: 'recharge.execute',
  refundRechargePayment: 'recharge.refund_payment',
  expandRechargeBatch: 'recharge.batch',
  orderRule: 'rule.run',
  rechargeRule: 'recharge-rule.run',
  /** A top-up (or a recharge's own payment) still unpaid after the timeout: close its trade, fail it. */
  topUpRule: 'top-up-rule.run',
  /** One event to one webhook endpoint: an attempt, then the next one rescheduled in place. */
  deliverWebhook: 'webhook.deliver',
  /** Tell the person how their recharge ended (SMS, webhook). */
  notifyRecharge: 'notify.recharge',
  /** Reconcile one source's statement of one day (the daily run; one job per source and day). */
  reconcileDay: 'reconcile.day',
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
  /** Telling others what happened: after the money moves it reports. */
  notify: 1,
  expire: 0,
} as const;
