import { z } from 'zod';
import type { Money } from './money.js';
import { err, ok, type Result } from './result.js';

/**
 * The owner's policy. It is read from configuration and enforced by the engine; nothing a
 * model or a request body says can change it. The seed configuration of MISSION.md is valid
 * as written, so every field has a default.
 */
export const policySchema = z
  .object({
    /** Place orders without asking the person first. */
    auto_confirm_order: z.boolean().default(false),
    /** Actions that run without the person's confirmation (e.g. "order_coffee", "submit_payment"). */
    trusted_actions: z.array(z.string().min(1)).default([]),
    /** Refuse any single order above this many minor units. */
    max_order_amount: z.number().int().positive().optional(),
    /** Refuse orders that would take a user's spending today above this many minor units. */
    daily_limit_per_user: z.number().int().positive().optional(),
    /** Even a trusted payment waits for the person above this many minor units. */
    require_confirmation_above: z.number().int().nonnegative().optional(),
  })
  .strict();

export type Policy = z.infer<typeof policySchema>;

export type OrderDecision =
  /** Pay immediately: the order and its payment are both trusted. */
  | { readonly kind: 'pay_now' }
  /** Placed, but the payment waits for the person ("已下单，待付款"). */
  | { readonly kind: 'await_payment'; readonly reason: string }
  /** The order itself waits for the person's confirmation. */
  | { readonly kind: 'await_confirmation'; readonly reason: string };

export interface OrderPolicyInput {
  readonly total: Money;
  /** What this user has already committed today, in the same currency. */
  readonly spentToday: number;
}

/** Decide what happens to a new coffee order. Refusals are returned errors with stable codes. */
export function decideOrder(policy: Policy, input: OrderPolicyInput): Result<OrderDecision> {
  const amount = input.total.amount;
  if (policy.max_order_amount !== undefined && amount > policy.max_order_amount) {
    return err(
      'POLICY_AMOUNT_CAP_EXCEEDED',
      `the order total exceeds the per-order cap of ${policy.max_order_amount}`,
      {
        amount,
        cap: policy.max_order_amount,
      },
    );
  }
  if (policy.daily_limit_per_user !== undefined && input.spentToday + amount > policy.daily_limit_per_user) {
    return err(
      'DAILY_LIMIT_EXCEEDED',
      `the order would exceed the daily spending limit of ${policy.daily_limit_per_user}`,
      {
        amount,
        spentToday: input.spentToday,
        limit: policy.daily_limit_per_user,
      },
    );
  }
  const trusted = new Set(policy.trusted_actions);
  if (!policy.auto_confirm_order && !trusted.has('order_coffee')) {
    return ok({
      kind: 'await_confirmation',
      reason: "orders need the person's confirmation (auto_confirm_order is off)",
    });
  }
  if (!trusted.has('submit_payment')) {
    return ok({ kind: 'await_payment', reason: 'submit_payment is not a trusted action' });
  }
  if (policy.require_confirmation_above !== undefined && amount > policy.require_confirmation_above) {
    return ok({
      kind: 'await_payment',
      reason: `amounts above ${policy.require_confirmation_above} need the person's confirmation`,
    });
  }
  return ok({ kind: 'pay_now' });
}

/**
 * Re-check limits when the person confirms a waiting order: the cap and the daily limit hold
 * at confirmation time too (spending may have grown since the order was placed).
 */
export function checkLimitsOnConfirm(policy: Policy, input: OrderPolicyInput): Result<void> {
  const d = decideOrder(
    { ...policy, auto_confirm_order: true, trusted_actions: ['order_coffee', 'submit_payment'] },
    input,
  );
  if (!d.ok) return d;
  return ok(undefined);
}
