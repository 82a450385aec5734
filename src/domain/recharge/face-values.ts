import type { Money } from '../money.js';
import { err, ok, type Result } from '../result.js';
import type { OperatorId } from './number-segments.js';

/** The face values the documents list: 10/20/30/50/100/200/300/500 yuan, in fen. */
export const DEFAULT_FACE_VALUES: readonly number[] = [1000, 2000, 3000, 5000, 10_000, 20_000, 30_000, 50_000];

/** Which amounts may be recharged, per operator. All amounts in fen (CNY). */
export interface FaceValueRules {
  /** Offered face values when an operator has no list of its own. */
  readonly defaultValues: readonly number[];
  /** Operators whose offer differs (e.g. Broadnet without 500). */
  readonly perOperator: Partial<Readonly<Record<OperatorId, readonly number[]>>>;
  /**
   * Channels that top up any amount (任意充) take whole yuan between these bounds; off by
   * default, since most channels sell fixed face values only.
   */
  readonly arbitrary: { readonly enabled: boolean; readonly minFen: number; readonly maxFen: number };
}

export const DEFAULT_FACE_VALUE_RULES: FaceValueRules = {
  defaultValues: DEFAULT_FACE_VALUES,
  perOperator: {},
  arbitrary: { enabled: false, minFen: 100, maxFen: 50_000 },
};

export function offeredFaceValues(rules: FaceValueRules, operator: OperatorId): readonly number[] {
  return rules.perOperator[operator] ?? rules.defaultValues;
}

/**
 * Check a recharge amount for an operator: CNY only (`INVALID_CURRENCY`), an offered face value
 * (`FACE_VALUE_NOT_OFFERED`, with the offer in `details.allowed`), or — when arbitrary amounts
 * are enabled — whole yuan within the bounds. Channels count in yuan, so fractions of a yuan are
 * never accepted.
 */
export function checkFaceValue(rules: FaceValueRules, operator: OperatorId, amount: Money): Result<Money> {
  if (amount.currency !== 'CNY') {
    return err('INVALID_CURRENCY', 'phone recharges are in CNY', { received: amount.currency, allowed: ['CNY'] });
  }
  const offered = offeredFaceValues(rules, operator);
  if (offered.includes(amount.amount)) return ok(amount);
  const { arbitrary } = rules;
  if (
    arbitrary.enabled &&
    amount.amount % 100 === 0 &&
    amount.amount >= arbitrary.minFen &&
    amount.amount <= arbitrary.maxFen
  ) {
    return ok(amount);
  }
  return err(
    'FACE_VALUE_NOT_OFFERED',
    `${operator} recharges are offered in ${offered.map((f) => f / 100).join('/')} yuan`,
    {
      received: amount.amount,
      allowed: [...offered],
      ...(arbitrary.enabled ? { arbitrary: { min: arbitrary.minFen, max: arbitrary.maxFen, multiple_of: 100 } } : {}),
    },
  );
}
