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
    auto_confirm_order: z.boolean().default(false).describe('place orders without asking the person first'),
    trusted_actions: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'actions that run without the person’s confirmation: order_coffee, submit_payment (orders pay at ' +
          'once), recharge_phone, wallet_top_up, refund',
      ),
    max_order_amount: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('refuse any single order or recharge above this many fen (POLICY_AMOUNT_CAP_EXCEEDED)'),
    daily_limit_per_user: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'refuse orders and recharges that take a person’s spending today (together, Asia/Shanghai day) above ' +
          'this many fen (DAILY_LIMIT_EXCEEDED)',
      ),
    require_confirmation_above: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe('even a trusted (or mandated) action waits for the person above this many fen'),
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
  /**
   * A mandate the person granted the asking agent covers this order (checked and its budget spent
   * elsewhere): the order and its payment are trusted as if the policy trusted them — the cap,
   * the daily limit and the confirmation threshold still apply.
   */
  readonly mandated?: boolean;
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
  const trusted = new Set([
    ...policy.trusted_actions,
    ...(input.mandated === true ? ['order_coffee', 'submit_payment'] : []),
  ]);
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

/** The engine's money actions besides orders, with their risk (the catalog's, for those the agent knows). */
export const MONEY_ACTIONS = {
  recharge_phone: { risk: 'high', spends: true },
  wallet_top_up: { risk: 'medium', spends: false },
  refund: { risk: 'high', spends: false },
} as const satisfies Record<string, { readonly risk: 'low' | 'medium' | 'high'; readonly spends: boolean }>;
export type MoneyAction = keyof typeof MONEY_ACTIONS;

export interface SpendInput {
  readonly action: MoneyAction;
  /** This transaction's amount (minor units); for a batch, each row is one transaction. */
  readonly amounts: readonly number[];
  /** What the person has already committed today (spending actions only). */
  readonly spentToday: number;
  /** A mandate the caller's agent holds covers this action (checked and consumed elsewhere). */
  readonly mandated?: boolean;
}

export type SpendDecision =
  | { readonly kind: 'run' }
  /** Held for the person's confirmation, with why. */
  | { readonly kind: 'hold'; readonly reason: string };

/**
 * The one policy for every money action that is not a coffee order (those have `decideOrder`):
 * recharges (single and batch), wallet top-ups and refunds. In order:
 * - spending actions (money leaving the person: recharges) obey the per-transaction cap and the
 *   daily limit — a refusal, never a hold;
 * - an action runs at once only if it is low-risk, or trusted (`trusted_actions`), or within a
 *   mandate the person granted; otherwise it waits for the person;
 * - above `require_confirmation_above` even a trusted or mandated action waits.
 */
export function decideSpend(policy: Policy, input: SpendInput): Result<SpendDecision> {
  const spec: { readonly risk: string; readonly spends: boolean } = MONEY_ACTIONS[input.action];
  const { risk, spends } = spec;
  const total = input.amounts.reduce((s, a) => s + a, 0);
  if (spends) {
    const over = input.amounts.find((a) => policy.max_order_amount !== undefined && a > policy.max_order_amount);
    if (over !== undefined) {
      return err(
        'POLICY_AMOUNT_CAP_EXCEEDED',
        `the amount exceeds the per-transaction cap of ${policy.max_order_amount}`,
        {
          amount: over,
          cap: policy.max_order_amount,
        },
      );
    }
    if (policy.daily_limit_per_user !== undefined && input.spentToday + total > policy.daily_limit_per_user) {
      return err(
        'DAILY_LIMIT_EXCEEDED',
        `this would exceed the daily spending limit of ${policy.daily_limit_per_user}`,
        {
          amount: total,
          spentToday: input.spentToday,
          limit: policy.daily_limit_per_user,
        },
      );
    }
  }
  if (risk !== 'low' && !policy.trusted_actions.includes(input.action) && input.mandated !== true) {
    return ok({ kind: 'hold', reason: `${input.action} is not a trusted action: the person confirms it` });
  }
  // A batch is one decision the person makes: its total is what the threshold weighs.
  if (policy.require_confirmation_above !== undefined && total > policy.require_confirmation_above) {
    return ok({
      kind: 'hold',
      reason: `amounts above ${policy.require_confirmation_above} need the person's confirmation`,
    });
  }
  return ok({ kind: 'run' });
}
