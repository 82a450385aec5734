import { err, ok, type Result } from './result.js';

/**
 * ISO 4217 currencies we accept, with their number of minor-unit digits.
 * Amounts are always integers in minor units (fen for CNY), never floats.
 */
export const CURRENCIES = {
  CNY: 2,
  HKD: 2,
  USD: 2,
  EUR: 2,
  JPY: 0,
} as const;

export type Currency = keyof typeof CURRENCIES;

/** A sum of money in integer minor units. */
export interface Money {
  readonly amount: number;
  readonly currency: Currency;
}

export const DEFAULT_CURRENCY: Currency = 'CNY';

/**
 * Anything above this many minor units (100 million yuan) is treated as absurd input, not a
 * real order: it is refused before it can reach a ledger or a gateway.
 */
export const MAX_AMOUNT_MINOR = 10_000_000_000;

export function isCurrency(value: unknown): value is Currency {
  return typeof value === 'string' && Object.hasOwn(CURRENCIES, value);
}

export function parseCurrency(value: unknown): Result<Currency> {
  if (isCurrency(value)) return ok(value);
  return err('INVALID_CURRENCY', `currency must be one of ${Object.keys(CURRENCIES).join(', ')}`, {
    received: typeof value === 'string' ? value : typeof value,
    allowed: Object.keys(CURRENCIES),
  });
}

export interface AmountRules {
  /** Whether zero is a legal amount here (a free item: yes; a charge: no). */
  readonly allowZero?: boolean;
}

/** Validate an amount in minor units: a safe, non-negative integer below the absurd bound. */
export function parseAmount(value: unknown, rules: AmountRules = {}): Result<number> {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return err('INVALID_AMOUNT', 'amount must be an integer number of minor units (fen)', {
      received: typeof value,
    });
  }
  if (!Number.isInteger(value)) {
    return err('INVALID_AMOUNT', 'amount must be an integer number of minor units (fen), not a fraction', {
      received: value,
    });
  }
  if (value < 0) return err('INVALID_AMOUNT', 'amount must not be negative', { received: value });
  if (value === 0 && rules.allowZero !== true) {
    return err('INVALID_AMOUNT', 'amount must be greater than zero', { received: value });
  }
  if (value > MAX_AMOUNT_MINOR) {
    return err('AMOUNT_TOO_LARGE', `amount must not exceed ${MAX_AMOUNT_MINOR} minor units`, {
      received: value,
      max: MAX_AMOUNT_MINOR,
    });
  }
  return ok(value);
}

/** Build a Money from untrusted parts; the currency defaults to CNY. */
export function money(amount: unknown, currency: unknown = DEFAULT_CURRENCY, rules: AmountRules = {}): Result<Money> {
  const c = parseCurrency(currency);
  if (!c.ok) return c;
  const a = parseAmount(amount, rules);
  if (!a.ok) return a;
  return ok({ amount: a.value, currency: c.value });
}

/** Add two sums of the same currency; refuses mixed currencies and overflow past the bound. */
export function addMoney(a: Money, b: Money): Result<Money> {
  if (a.currency !== b.currency) {
    return err('INVALID_CURRENCY', `cannot add ${a.currency} to ${b.currency}`);
  }
  return money(a.amount + b.amount, a.currency, { allowZero: true });
}

/** Multiply a unit price by a whole quantity. */
export function multiplyMoney(unit: Money, quantity: number): Result<Money> {
  if (!Number.isSafeInteger(quantity) || quantity < 0) {
    return err('INVALID_QUANTITY', 'quantity must be a non-negative integer', { received: quantity });
  }
  return money(unit.amount * quantity, unit.currency, { allowZero: true });
}

/** Human form for logs and messages: 3200 CNY → "¥32.00". Never used for arithmetic. */
export function formatMoney(m: Money): string {
  const digits = CURRENCIES[m.currency];
  const symbol = m.currency === 'CNY' ? '¥' : `${m.currency} `;
  if (digits === 0) return `${symbol}${m.amount}`;
  const unit = 10 ** digits;
  const whole = Math.trunc(m.amount / unit);
  const frac = String(m.amount % unit).padStart(digits, '0');
  return `${symbol}${whole}.${frac}`;
}
