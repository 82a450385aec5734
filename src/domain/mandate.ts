import { z } from 'zod';
import { PRINCIPAL_ID_RE } from './auth/credentials.js';
import { startOfDay } from './business-day.js';
import { err, ok, type Result } from './result.js';

/**
 * Spending mandates (AP2-style intent mandates): what a person allows one of their agents to do
 * without asking them first — which actions, with whom, how much per transaction, how much per
 * period, until when. Pure: the terms, their validation, what a use falls under, and when a
 * period starts. The service signs the terms (a port); storage spends the budget atomically.
 */

/** The money actions a mandate may cover (the policy's names for them). */
export const MANDATE_ACTIONS = ['order_coffee', 'recharge_phone', 'wallet_top_up', 'refund'] as const;
export type MandateAction = (typeof MANDATE_ACTIONS)[number];

/**
 * Whom each action pays, as a mandate's `payees` name it: a coffee order and its refund the
 * merchant, a top-up the wallet; a recharge its carrier (`china_mobile`, `china_unicom`, `china_telecom`).
 */
export const PAYEE = { merchant: 'merchant', wallet: 'wallet' } as const;
export const carrierPayee = (operator: string): string => operator.toLowerCase();

export const MANDATE_PERIODS = ['day', 'week', 'month', 'total'] as const;
export type Period = (typeof MANDATE_PERIODS)[number];

/** The longest a mandate may last: a grant is renewed, never open-ended. */
export const MAX_MANDATE_MS = 366 * 86_400_000;

/** What a person asks for when granting a mandate (the request body, snake_case as the API). */
export const mandateGrantSchema = z
  .object({
    agent: z.string().regex(PRINCIPAL_ID_RE, 'agent is the id of one of your agents'),
    actions: z.array(z.enum(MANDATE_ACTIONS)).min(1).max(MANDATE_ACTIONS.length),
    /** Whom it may pay (`merchant`, `wallet`, a carrier such as `china_mobile`…); omitted or empty: any. */
    payees: z
      .array(z.string().regex(/^[a-z0-9_-]{1,32}$/, 'a payee is a lower-case name'))
      .max(20)
      .default([]),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'currency is an ISO 4217 code')
      .default('CNY'),
    max_per_transaction: z.number().int().positive().max(100_000_000),
    budget: z.number().int().positive().max(1_000_000_000),
    period: z.enum(MANDATE_PERIODS),
    expires_at: z.string().datetime({ offset: true }),
  })
  .strict()
  .refine((g) => g.budget >= g.max_per_transaction, {
    message: 'budget is at least max_per_transaction',
    path: ['budget'],
  });
export type MandateGrant = z.infer<typeof mandateGrantSchema>;

/** The terms the service signs: everything that decides whether a use is covered. */
export interface MandateTerms {
  readonly id: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly agentId: string;
  readonly actions: readonly string[];
  readonly payees: readonly string[];
  readonly currency: string;
  readonly maxPerTransaction: number;
  readonly budget: number;
  readonly period: Period;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** The signed payload of a mandate's terms (a JWS claims set: stable names, seconds for times). */
export function mandateClaims(t: MandateTerms): Record<string, unknown> {
  return {
    jti: t.id,
    tenant: t.tenantId,
    sub: t.userId,
    agent: t.agentId,
    actions: [...t.actions],
    payees: [...t.payees],
    currency: t.currency,
    max_per_transaction: t.maxPerTransaction,
    budget: t.budget,
    period: t.period,
    iat: Math.floor(t.createdAt / 1000),
    exp: Math.floor(t.expiresAt / 1000),
  };
}

/** Whether signed claims say exactly what the stored terms say (a row edited behind the service's back does not). */
export function claimsMatch(claims: Readonly<Record<string, unknown>>, t: MandateTerms): boolean {
  const want = mandateClaims(t);
  return Object.keys(want).every((k) => JSON.stringify(claims[k]) === JSON.stringify(want[k]));
}

/** One use of a mandate: the action an agent asks for, with whom, for how much. */
export interface MandateUse {
  readonly action: MandateAction;
  readonly payee: string;
  readonly amount: number;
  readonly currency: string;
  readonly now: number;
}

/** A mandate's state as far as a use is concerned (the budget is spent atomically elsewhere). */
export interface MandateState extends MandateTerms {
  readonly revokedAt: number | null;
}

/**
 * Whether a mandate covers a use (its budget aside: that is spent atomically by storage). A
 * refusal names the term the use falls outside of, with a stable code — it is why the action is
 * held for the person, and what counts as a mandate violation.
 */
export function covers(m: MandateState, use: MandateUse): Result<void> {
  if (m.revokedAt !== null) return err('MANDATE_REVOKED', `mandate ${m.id} was revoked`);
  if (m.expiresAt <= use.now) return err('MANDATE_EXPIRED', `mandate ${m.id} has expired`);
  if (!m.actions.includes(use.action)) {
    return err('MANDATE_ACTION_NOT_COVERED', `mandate ${m.id} does not cover ${use.action}`, { action: use.action });
  }
  if (m.payees.length > 0 && !m.payees.includes(use.payee)) {
    return err('MANDATE_PAYEE_NOT_COVERED', `mandate ${m.id} does not cover paying ${use.payee}`, {
      payee: use.payee,
    });
  }
  if (m.currency !== use.currency) {
    return err('MANDATE_CURRENCY_NOT_COVERED', `mandate ${m.id} is in ${m.currency}`, { currency: use.currency });
  }
  if (use.amount > m.maxPerTransaction) {
    return err('MANDATE_AMOUNT_EXCEEDED', `mandate ${m.id} allows at most ${m.maxPerTransaction} per transaction`, {
      amount: use.amount,
      max_per_transaction: m.maxPerTransaction,
    });
  }
  return ok(undefined);
}

/**
 * When the budget period containing `now` started, in the business day's time zone: the day, the
 * week (from Monday), the calendar month; `total` never restarts (it counts from the grant).
 */
export function periodStartOf(period: Period, now: number, offsetMinutes: number, grantedAt: number): number {
  const day = startOfDay(now, offsetMinutes);
  if (period === 'day') return day;
  if (period === 'total') return grantedAt;
  const offset = offsetMinutes * 60_000;
  const local = new Date(day + offset);
  if (period === 'week') {
    const sinceMonday = (local.getUTCDay() + 6) % 7;
    return day - sinceMonday * 86_400_000;
  }
  return Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), 1) - offset;
}

/** When the period containing `now` ends (its budget starts again); null for `total`. */
export function periodEndOf(period: Period, start: number, offsetMinutes: number): number | null {
  if (period === 'total') return null;
  if (period === 'day') return start + 86_400_000;
  if (period === 'week') return start + 7 * 86_400_000;
  const offset = offsetMinutes * 60_000;
  const local = new Date(start + offset);
  return Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + 1, 1) - offset;
}
