import { ORDER_STATUSES, type OrderStatus } from './order.js';
import type { RechargeStatus } from './recharge/recharge.js';

/**
 * Repair rules: "an order in one of these statuses, unchanged for longer than this → do that".
 * Declarative (configurable), pure to match; what each action does lives in the application.
 */
export const RULE_ACTIONS = [
  /** Cancel an order still waiting for the person. */
  'cancel',
  /** Ask the gateway about a payment still pending and settle it (closing the trade if unpaid). */
  'settle_payment',
  /** Hand a paid order to the merchant again (it queries first, so never twice). */
  'retry_fulfilment',
  /** Give up on fulfilment: if the merchant never took the order, refund it all and flag it. */
  'refund_and_flag',
  /** Ask the gateway about a payment we recorded as failed; money it took anyway is given back and flagged. */
  'recheck_failed',
  /**
   * An order still REFUNDING: a PENDING refund nobody is sending is sent again (same key); a
   * FAILED one is flagged again for a person (retry or settle outside); all given back → REFUNDED.
   */
  'resume_refund',
] as const;

export type RuleAction = (typeof RULE_ACTIONS)[number];

/** "Subjects in one of these statuses, unchanged for this long → do that" (orders by default; recharges below). */
export interface Rule<S extends string = OrderStatus, A extends string = RuleAction> {
  readonly name: string;
  readonly statuses: readonly S[];
  /** Fires once the order has been in its status (unchanged) at least this long. */
  readonly olderThanMs: number;
  /** …and no longer than this (a window, so old history is not re-examined forever). */
  readonly youngerThanMs?: number;
  readonly action: A;
}

const MIN = 60_000;

/** The documented repairs, on by default. */
export const BUILT_IN_RULES: readonly Rule[] = [
  {
    name: 'cancel-unpaid',
    statuses: ['AWAITING_CONFIRMATION', 'AWAITING_PAYMENT'],
    olderThanMs: 30 * MIN,
    action: 'cancel',
  },
  { name: 'settle-pending-payment', statuses: ['PAYMENT_PROCESSING'], olderThanMs: 10 * MIN, action: 'settle_payment' },
  { name: 'retry-fulfilment', statuses: ['PAID', 'FULFILLING'], olderThanMs: 10 * MIN, action: 'retry_fulfilment' },
  { name: 'refund-unfulfilled', statuses: ['PAID', 'FULFILLING'], olderThanMs: 60 * MIN, action: 'refund_and_flag' },
  { name: 'resume-refunding', statuses: ['REFUNDING'], olderThanMs: 30 * MIN, action: 'resume_refund' },
  {
    name: 'recheck-failed-payment',
    statuses: ['FAILED'],
    olderThanMs: 10 * MIN,
    youngerThanMs: 24 * 60 * MIN,
    action: 'recheck_failed',
  },
];

/** Whether a rule applies to an order (or a recharge) now (the same test the database query makes, for re-checking). */
export function ruleMatches<S extends string>(
  rule: Rule<S, string>,
  subject: { readonly status: S; readonly updatedAt: number },
  now: number,
): boolean {
  const age = now - subject.updatedAt;
  return (
    rule.statuses.includes(subject.status) &&
    age >= rule.olderThanMs &&
    (rule.youngerThanMs === undefined || age <= rule.youngerThanMs)
  );
}

/** What a recharge rule does (the application carries it out). */
export const RECHARGE_RULE_ACTIONS = [
  /**
   * Ask the open attempt's channel and settle the recharge by its answer; when the channel still
   * does not know, leave the money in recharge clearing and flag it for review (once).
   */
  'settle_recharge',
  /** Ask the last attempt's channel about a FAILED recharge; a success is corrected and flagged. */
  'recheck_failed_recharge',
] as const;

export type RechargeRuleAction = (typeof RECHARGE_RULE_ACTIONS)[number];

/** "A recharge in one of these statuses, unchanged for this long → do that." */
export type RechargeRule = Rule<RechargeStatus, RechargeRuleAction>;

/** The documented recharge repairs, on with the built-in rules. */
export const BUILT_IN_RECHARGE_RULES: readonly RechargeRule[] = [
  {
    name: 'settle-unknown-recharge',
    statuses: ['CREATED', 'SUBMITTING', 'PROCESSING', 'UNKNOWN', 'AWAITING_FAILOVER'],
    olderThanMs: 30 * MIN,
    action: 'settle_recharge',
  },
  {
    name: 'recheck-failed-recharge',
    statuses: ['FAILED'],
    olderThanMs: 10 * MIN,
    youngerThanMs: 24 * 60 * MIN,
    action: 'recheck_failed_recharge',
  },
];

/**
 * One run of a rule per order state: the id is the same on every instance and every sweep while
 * the order stays unchanged (its version), so a rule acts once per stuck state, not once per sweep.
 */
export function ruleRunId(rule: { readonly name: string }, orderId: string, version: number): string {
  return `rule_${rule.name}_${orderId}_v${version}`;
}

export function isOrderStatus(s: string): s is OrderStatus {
  return (ORDER_STATUSES as readonly string[]).includes(s);
}
