import { z } from 'zod';
import {
  MAX_EXTRA_SHOTS,
  MAX_QUANTITY,
  MILKS,
  type Menu,
  orderOptionsSchema,
  SIZES,
  type Size,
  SUGAR_LEVELS,
  TEMPERATURES,
} from '../menu.js';
import { MAX_AMOUNT_MINOR, parseAmount } from '../money.js';
import { ORDER_STATUSES } from '../order.js';
import { err, ok, type DomainError, type Result } from '../result.js';
import type { ActionSpec, RawParams } from './action-spec.js';
import { findAmount, foreignCurrency, parseCount } from './numbers.js';
import { MOBILE_RE, normalisePhone } from './phone.js';
import { normaliseText } from './text.js';

/**
 * Sizes as Chinese coffee shops name them, and Starbucks names as they map in China:
 * 小杯 small; 中杯 = tall = medium; 大杯 = grande = large; 超大杯 = venti = xlarge.
 */
export const SIZE_SYNONYMS: Readonly<Record<string, Size>> = {
  small: 'small',
  s: 'small',
  short: 'small',
  小杯: 'small',
  小: 'small',
  medium: 'medium',
  m: 'medium',
  tall: 'medium',
  regular: 'medium',
  中杯: 'medium',
  中: 'medium',
  large: 'large',
  l: 'large',
  grande: 'large',
  big: 'large',
  大杯: 'large',
  大: 'large',
  xlarge: 'xlarge',
  xl: 'xlarge',
  'x-large': 'xlarge',
  'extra large': 'xlarge',
  'extra-large': 'xlarge',
  venti: 'xlarge',
  超大杯: 'xlarge',
  特大杯: 'xlarge',
  超大: 'xlarge',
};

const TEMPERATURE_SYNONYMS: Readonly<Record<string, (typeof TEMPERATURES)[number]>> = {
  hot: 'hot',
  warm: 'hot',
  热: 'hot',
  热的: 'hot',
  温: 'hot',
  iced: 'iced',
  ice: 'iced',
  cold: 'iced',
  冰: 'iced',
  冰的: 'iced',
  冷: 'iced',
};
const SUGAR_SYNONYMS: Readonly<Record<string, (typeof SUGAR_LEVELS)[number]>> = {
  none: 'none',
  no: 'none',
  'no sugar': 'none',
  'sugar-free': 'none',
  无糖: 'none',
  不加糖: 'none',
  less: 'less',
  'less sugar': 'less',
  low: 'less',
  少糖: 'less',
  微糖: 'less',
  half: 'half',
  'half sugar': 'half',
  半糖: 'half',
  normal: 'normal',
  regular: 'normal',
  full: 'normal',
  正常糖: 'normal',
  全糖: 'normal',
  标准糖: 'normal',
};
const MILK_SYNONYMS: Readonly<Record<string, (typeof MILKS)[number]>> = {
  whole: 'whole',
  'whole milk': 'whole',
  全脂: 'whole',
  全脂奶: 'whole',
  skim: 'skim',
  skimmed: 'skim',
  'skim milk': 'skim',
  脱脂: 'skim',
  脱脂奶: 'skim',
  oat: 'oat',
  'oat milk': 'oat',
  燕麦奶: 'oat',
  燕麦: 'oat',
};
const LAST_SYNONYMS = new Set([
  'last',
  'latest',
  'previous',
  'recent',
  'that',
  'it',
  'this',
  '刚才',
  '上一单',
  '最近',
  '这单',
  '那单',
  '刚才那单',
]);

/** An order reference: one of our ids, or "last" (the conversation's last order). */
export const ORDER_REF_RE = /^(?:last|[A-Za-z][A-Za-z0-9_-]{0,63})$/;
const orderRefSchema = z
  .string()
  .regex(ORDER_REF_RE)
  .describe('an order id such as "ord_01J…", or "last" for the order this conversation placed last');
const amountSchema = z.number().int().positive().max(MAX_AMOUNT_MINOR);

type Fields = Record<string, unknown>;

/**
 * Apply per-field normalisers; the first failure wins and names its field. Unknown fields pass
 * through for the schema to reject.
 */
function normaliseFields(
  raw: RawParams,
  fns: Readonly<Record<string, (v: unknown) => Result<unknown>>>,
): Result<Fields> {
  const out: Fields = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined || value === null) continue;
    // Own entries only: a field named `constructor` or `toString` is not a normaliser.
    const fn = Object.hasOwn(fns, key) ? fns[key] : undefined;
    if (fn === undefined) {
      // Defined, not assigned: `out.__proto__ = v` would change the prototype and the field would
      // vanish instead of reaching the strict schema as the unknown field it is.
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      continue;
    }
    const r = fn(value);
    if (!r.ok) return { ok: false, error: withField(r.error, key) };
    out[key] = r.value;
  }
  return ok(out);
}

function withField(e: DomainError, field: string): DomainError {
  return { ...e, details: { ...e.details, field } };
}

/** Money from a model or a grammar: an integer is fen; text must carry its unit ("100元", "¥30"). */
export function normaliseAmount(value: unknown): Result<number> {
  if (typeof value === 'number') return parseAmount(value);
  if (typeof value !== 'string')
    return err('INVALID_AMOUNT', 'amount must be an integer number of fen', { received: typeof value });
  const text = normaliseText(value);
  const foreign = foreignCurrency(text);
  if (foreign !== undefined) return { ok: false, error: foreign };
  const found = findAmount(text);
  if (found !== undefined && found.length === text.length) return found.amount;
  if (/^-/.test(text)) return err('INVALID_AMOUNT', 'amount must not be negative', { received: value });
  // A bare number in a string is ambiguous (yuan or fen?): refuse it rather than guess.
  return err(
    'INVALID_AMOUNT',
    'amount must be an integer number of fen, or text with its unit such as "100元" or "¥30"',
    { received: value },
  );
}

function lookup<T>(
  table: Readonly<Record<string, T>>,
  code: 'UNKNOWN_SIZE' | 'UNKNOWN_OPTION',
  what: string,
  allowed: readonly string[],
) {
  return (value: unknown): Result<T> => {
    const key = typeof value === 'string' ? normaliseText(value).replace(/_/g, ' ') : '';
    const hit = Object.hasOwn(table, key) ? table[key] : undefined;
    return hit === undefined ? err(code, `"${String(value)}" is not a ${what}`, { allowed }) : ok(hit);
  };
}

const normaliseSize = lookup(SIZE_SYNONYMS, 'UNKNOWN_SIZE', 'size', SIZES);

function normaliseCount(value: unknown): Result<number> {
  const n =
    typeof value === 'number' ? value : typeof value === 'string' ? parseCount(normaliseText(value)) : undefined;
  if (n === undefined || !Number.isSafeInteger(n) || n < 1 || n > MAX_QUANTITY) {
    return err('INVALID_QUANTITY', `quantity must be an integer from 1 to ${MAX_QUANTITY}`, { received: value });
  }
  return ok(n);
}

function normaliseOrderRef(value: unknown): Result<string> {
  if (typeof value !== 'string')
    return err('VALIDATION_FAILED', 'order_id must be an order id or "last"', { received: typeof value });
  const t = value.trim();
  if (LAST_SYNONYMS.has(t.toLowerCase())) return ok('last');
  if (!ORDER_REF_RE.test(t))
    return err('VALIDATION_FAILED', 'order_id must be an order id or "last"', { received: value.slice(0, 64) });
  return ok(t);
}

/** Drink id from an id, a Chinese or an English menu name ("Flat White" → flat_white). */
export function drinkIdFor(menu: Menu, value: string): string | undefined {
  const t = normaliseText(value);
  const snake = t.replace(/[\s-]+/g, '_');
  for (const d of menu.drinks) {
    if (d.id === snake || d.name_zh === t || d.name_en.toLowerCase() === t) return d.id;
  }
  return undefined;
}

function normaliseOptions(value: unknown): Result<unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return err('UNKNOWN_OPTION', 'options must be an object', {
      received: Array.isArray(value) ? 'array' : typeof value,
    });
  }
  const r = normaliseFields(value as RawParams, {
    temperature: lookup(TEMPERATURE_SYNONYMS, 'UNKNOWN_OPTION', 'temperature', TEMPERATURES),
    sugar: lookup(SUGAR_SYNONYMS, 'UNKNOWN_OPTION', 'sugar level', SUGAR_LEVELS),
    milk: lookup(MILK_SYNONYMS, 'UNKNOWN_OPTION', 'milk', MILKS),
    extra_shots: (v) => {
      const n = typeof v === 'number' ? v : typeof v === 'string' ? parseCount(normaliseText(v)) : undefined;
      return n !== undefined && Number.isInteger(n) && n >= 0 && n <= MAX_EXTRA_SHOTS
        ? ok(n)
        : err('UNKNOWN_OPTION', `extra_shots must be 0 to ${MAX_EXTRA_SHOTS}`, { received: v });
    },
  });
  return r;
}

function normaliseCurrency(value: unknown): Result<'CNY'> {
  const t = typeof value === 'string' ? normaliseText(value) : '';
  if (t === 'cny' || t === 'rmb' || t === '元' || t === '人民币') return ok('CNY');
  return err('INVALID_CURRENCY', 'recharges are in CNY', {
    received: typeof value === 'string' ? value.slice(0, 16) : typeof value,
    allowed: ['CNY'],
  });
}

const ORDER_FIELDS = { order_id: normaliseOrderRef };

const orderCoffee: ActionSpec = {
  name: 'order_coffee',
  description:
    'Order coffee from the menu. Sizes: small (小杯), medium (中杯, tall), large (大杯, grande), xlarge (超大杯, venti).',
  risk: 'medium',
  permission: 'orders.place',
  hints: { readOnly: false, destructive: false, idempotent: false, openWorld: true },
  schema: (ctx) =>
    z
      .object({
        drink: z.enum(ctx.menu.drinks.map((d) => d.id) as [string, ...string[]]).describe('menu drink id'),
        size: z.enum(SIZES),
        quantity: z.number().int().min(1).max(MAX_QUANTITY).default(1),
        options: orderOptionsSchema.default({}),
      })
      .strict(),
  normalise: (raw, ctx) => {
    const r = normaliseFields(raw, {
      drink: (v) => {
        const id = typeof v === 'string' ? drinkIdFor(ctx.menu, v) : undefined;
        return id === undefined
          ? err('UNKNOWN_DRINK', `"${String(v).slice(0, 40)}" is not on the menu`, {
              allowed: ctx.menu.drinks.map((d) => d.id),
            })
          : ok(id);
      },
      size: normaliseSize,
      quantity: normaliseCount,
      options: normaliseOptions,
    });
    if (!r.ok) return r;
    const drink = ctx.menu.drinks.find((d) => d.id === r.value.drink);
    const size = r.value.size as Size | undefined;
    if (drink !== undefined && size !== undefined && drink.prices[size] === undefined) {
      return err('UNKNOWN_SIZE', `${drink.name_en} is not offered in ${size}`, {
        field: 'size',
        allowed: SIZES.filter((s) => drink.prices[s] !== undefined),
      });
    }
    const temperature = (r.value.options as { temperature?: string } | undefined)?.temperature;
    if (drink !== undefined && temperature === 'iced' && !drink.iced) {
      return err('UNKNOWN_OPTION', `${drink.name_en} cannot be served iced`, { field: 'options.temperature' });
    }
    return r;
  },
  complete: (params, ctx) => {
    if (params.size !== undefined || typeof params.drink !== 'string') return params;
    const drink = ctx.menu.drinks.find((d) => d.id === params.drink);
    const offered = drink === undefined ? [] : SIZES.filter((s) => drink.prices[s] !== undefined);
    // A drink that comes in one size only needs no question.
    return offered.length === 1 ? { ...params, size: offered[0] } : params;
  },
  questions: {
    drink: { zh: '要喝什么？', en: 'Which drink would you like?' },
    size: {
      zh: '要什么杯型？（小杯/中杯/大杯/超大杯）',
      en: 'What size? (small, medium/tall, large/grande, xlarge/venti)',
    },
  },
};

const rechargePhone: ActionSpec = {
  name: 'recharge_phone',
  description: 'Top up the prepaid balance of a mainland China mobile number. amount is integer fen (100元 = 10000).',
  risk: 'high',
  permission: 'recharges.create',
  hints: { readOnly: false, destructive: false, idempotent: false, openWorld: true },
  schema: () =>
    z
      .object({
        phone: z.string().regex(MOBILE_RE).describe('11-digit mainland mobile number, digits only'),
        amount: amountSchema.describe('integer fen'),
        currency: z.literal('CNY').default('CNY'),
      })
      .strict(),
  normalise: (raw) =>
    normaliseFields(raw, { phone: normalisePhone, amount: normaliseAmount, currency: normaliseCurrency }),
  questions: {
    phone: { zh: '给哪个手机号充值？', en: 'Which mobile number should be topped up?' },
    amount: { zh: '充多少钱？', en: 'How much should be topped up?' },
  },
};

const refOnly = (
  name: string,
  description: string,
  risk: ActionSpec['risk'],
  permission: NonNullable<ActionSpec['permission']>,
  hints: NonNullable<ActionSpec['hints']>,
): ActionSpec => ({
  name,
  description,
  risk,
  permission,
  hints,
  schema: () => z.object({ order_id: orderRefSchema.default('last') }).strict(),
  normalise: (raw) => normaliseFields(raw, ORDER_FIELDS),
});

/** An order reference plus an optional amount in fen (a payment the person named, a partial refund). */
const refWithAmount = (
  name: string,
  description: string,
  permission: NonNullable<ActionSpec['permission']>,
  hints: NonNullable<ActionSpec['hints']>,
): ActionSpec => ({
  name,
  description,
  risk: 'high',
  permission,
  hints,
  schema: () => z.object({ order_id: orderRefSchema.default('last'), amount: amountSchema.optional() }).strict(),
  normalise: (raw) => normaliseFields(raw, { ...ORDER_FIELDS, amount: normaliseAmount }),
});

const submitPayment = refWithAmount(
  'submit_payment',
  'Pay for an order (the person said pay / confirm, e.g. "付吧", "确认付款", "pay for it"). amount, ' +
    'when the person named one, is integer fen and must match the order.',
  'payments.submit',
  { readOnly: false, destructive: false, idempotent: true, openWorld: true },
);

const refund = refWithAmount(
  'refund',
  'Refund an order, fully or (with amount in integer fen) partly.',
  'orders.refund',
  { readOnly: false, destructive: true, idempotent: false, openWorld: true },
);

const queryBalance: ActionSpec = {
  name: 'query_balance',
  description: "Show the balance of the paying account's wallet.",
  risk: 'low',
  permission: 'wallet.read',
  hints: { readOnly: true, destructive: false, idempotent: true, openWorld: false },
  schema: () => z.object({}).strict(),
};

const LIST_LIMIT = 50;

const listOrders: ActionSpec = {
  name: 'list_orders',
  description: "List the person's coffee orders, newest first, optionally only those in the given statuses.",
  risk: 'low',
  permission: 'orders.read',
  hints: { readOnly: true, destructive: false, idempotent: true, openWorld: false },
  schema: () =>
    z
      .object({
        status: z.array(z.enum(ORDER_STATUSES)).min(1).optional().describe('only orders in these statuses'),
        limit: z.number().int().min(1).max(LIST_LIMIT).default(10),
      })
      .strict(),
};

const topUpWallet: ActionSpec = {
  name: 'top_up_wallet',
  description:
    "Put money on the person's prepaid wallet (what phone recharges are paid from) through the payment " +
    'gateway. amount is integer fen (100元 = 10000). Held for the person unless wallet_top_up is trusted.',
  risk: 'medium',
  permission: 'wallet.top_up',
  hints: { readOnly: false, destructive: false, idempotent: false, openWorld: true },
  schema: () => z.object({ amount: amountSchema.describe('integer fen') }).strict(),
  normalise: (raw) => normaliseFields(raw, { amount: normaliseAmount }),
  questions: { amount: { zh: '充多少钱到钱包？', en: 'How much should go on the wallet?' } },
};

/** The actions Open-AutoGLM ships with. */
export const BUILTIN_ACTIONS: readonly ActionSpec[] = [
  orderCoffee,
  rechargePhone,
  submitPayment,
  refOnly('cancel_order', 'Cancel an order that still waits for confirmation or payment.', 'medium', 'orders.cancel', {
    readOnly: false,
    destructive: true,
    idempotent: true,
    openWorld: true,
  }),
  refund,
  refOnly('query_order', 'Show an order and its status.', 'low', 'orders.read', {
    readOnly: true,
    destructive: false,
    idempotent: true,
    openWorld: false,
  }),
  queryBalance,
  listOrders,
  topUpWallet,
];

export type BuiltinAction =
  | 'order_coffee'
  | 'recharge_phone'
  | 'submit_payment'
  | 'cancel_order'
  | 'refund'
  | 'query_order'
  | 'query_balance'
  | 'list_orders'
  | 'top_up_wallet';
