/**
 * The ONLY place external keys (what we send to gateways, merchants and channels so they can
 * de-duplicate) and our own deterministic record ids (journals, once-only flags) are minted.
 * Every key is a pure function of ids already on disk, so a retry, a resume after a crash and a
 * second instance all arrive at the same key: that is what makes a repeated call harmless.
 *
 * Stored and sent: never change how an existing key is formed.
 */
export const keys = {
  /** out_trade_no of a payment's attempt `attempt` (1-based). */
  outTradeNo: (paymentId: string, attempt: number): string => `${paymentId}_${attempt}`,
  /** out_trade_no of a wallet top-up or of a recharge's own payment (one attempt). */
  topUpOutTradeNo: (topUpId: string): string => `${topUpId}_1`,
  /** The key the merchant de-duplicates an order's fulfilment on. */
  fulfilment: (orderId: string): string => `${orderId}_fulfil`,
  /** out_refund_no of a payment's `n`-th refund (1-based, counting every refund ever asked for). */
  refund: (paymentId: string, n: number): string => `${paymentId}_r${n}`,
  /** out_refund_no giving back a capture that arrived after the payment had failed. */
  lateCaptureRefund: (outTradeNo: string): string => `${outTradeNo}_late`,
  /** out_refund_no of a directly paid recharge's payment (one per payment). */
  topUpRefund: (topUpId: string): string => `${topUpId}_R1`,
} as const;

/** Journal ids: one per business event, so the same event can never be booked twice. */
export const journalIds = {
  paymentCaptured: (paymentId: string): string => `jrn_${paymentId}_capture`,
  refundSucceeded: (refundId: string): string => `jrn_${refundId}`,
  lateCapture: (paymentId: string): string => `jrn_${paymentId}_late_capture`,
  lateCaptureRefunded: (paymentId: string): string => `jrn_${paymentId}_late_refund`,
  /** A top-up captured: onto the wallet, or (a recharge's own payment) into recharge clearing. */
  topUpCaptured: (topUpId: string): string => `jrn_${topUpId}`,
  topUpRefunded: (topUpId: string): string => `jrn_${topUpId}_refund`,
  recharge: (rechargeId: string, step: RechargeJournalStep): string => `jrn_${rechargeId}_${step}`,
} as const;

/** The money steps of a recharge, each booked at most once. */
export type RechargeJournalStep = 'reserve' | 'consume' | 'release' | 'refund_due' | 'reclaim';

/** Review flags raised at most once per subject carry a deterministic id. */
export const flagIds = {
  once: (key: string): string => `flg_${key}`,
  rechargeUnresolved: (rechargeId: string): string => `flg_RECHARGE_UNRESOLVED_${rechargeId}`,
  lateCapture: (paymentId: string): string => `flg_LATE_CAPTURE_${paymentId}`,
  tradeNotClosed: (paymentId: string): string => `flg_TRADE_NOT_CLOSED_${paymentId}`,
} as const;

/** Jobs that must exist at most once, whoever (a callback, a rule, another instance) asks first. */
export const jobIds = {
  resolveLateCapture: (paymentId: string): string => `job_late_capture_${paymentId}`,
} as const;
