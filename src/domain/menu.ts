import { z } from 'zod';
import { type Currency, type Money, multiplyMoney, money } from './money.js';
import { currencySchema } from './money-schema.js';
import { err, ok, type Result } from './result.js';

export const SIZES = ['small', 'medium', 'large', 'xlarge'] as const;
export type Size = (typeof SIZES)[number];

/** Chinese names of the sizes, as coffee shops in China use them. */
export const SIZE_NAMES_ZH: Readonly<Record<Size, string>> = {
  small: '小杯',
  medium: '中杯',
  large: '大杯',
  xlarge: '超大杯',
};

const priceSchema = z.number().int().positive();

export const drinkSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/, 'drink ids are lower-case snake_case')
      .describe('the drink’s id (lower-case snake_case)'),
    name_zh: z.string().min(1).describe('Chinese name'),
    name_en: z.string().min(1).describe('English name'),
    prices: z
      .partialRecord(z.enum(SIZES), priceSchema.describe('price of this size, in fen'))
      .describe('Price per size in minor units; a size missing here is not offered for this drink.'),
    iced: z.boolean().default(true).describe('Whether the drink can be served iced.'),
  })
  .strict();

export const menuSchema = z
  .object({
    currency: currencySchema.default('CNY').describe('currency of the prices'),
    drinks: z.array(drinkSchema).min(1).describe('the drinks on offer'),
    surcharges: z
      .object({
        oat_milk: priceSchema.default(300).describe('oat milk, per drink'),
        extra_shot: priceSchema.default(400).describe('each extra shot'),
      })
      .strict()
      .default({ oat_milk: 300, extra_shot: 400 })
      .describe('Surcharges in minor units.'),
  })
  .strict();

export type Drink = z.infer<typeof drinkSchema>;
export type Menu = z.infer<typeof menuSchema>;

export const TEMPERATURES = ['hot', 'iced'] as const;
export const SUGAR_LEVELS = ['none', 'less', 'half', 'normal'] as const;
export const MILKS = ['whole', 'skim', 'oat'] as const;
export const MAX_EXTRA_SHOTS = 3;
export const MAX_QUANTITY = 50;

export const orderOptionsSchema = z
  .object({
    temperature: z.enum(TEMPERATURES).optional().describe('hot or iced'),
    sugar: z.enum(SUGAR_LEVELS).optional().describe('sugar level'),
    milk: z.enum(MILKS).optional().describe('milk'),
    extra_shots: z.number().int().min(0).max(MAX_EXTRA_SHOTS).optional().describe('extra espresso shots'),
  })
  .strict();

export type OrderOptions = z.infer<typeof orderOptionsSchema>;

export interface OrderLine {
  readonly drink: string;
  readonly size: string;
  readonly quantity: number;
  readonly options: OrderOptions;
}

export interface Quote {
  readonly drink: Drink;
  readonly size: Size;
  readonly quantity: number;
  readonly options: OrderOptions;
  readonly unitPrice: Money;
  readonly total: Money;
  /** e.g. "2 × 大杯拿铁 large latte (iced)" */
  readonly description: string;
}

/** A sensible default menu with Chinese and English names; prices in fen. */
export const DEFAULT_MENU: Menu = {
  currency: 'CNY',
  surcharges: { oat_milk: 300, extra_shot: 400 },
  drinks: [
    {
      id: 'latte',
      name_zh: '拿铁',
      name_en: 'Latte',
      iced: true,
      prices: { small: 2800, medium: 3200, large: 3500, xlarge: 3800 },
    },
    {
      id: 'americano',
      name_zh: '美式',
      name_en: 'Americano',
      iced: true,
      prices: { small: 2300, medium: 2700, large: 3000, xlarge: 3300 },
    },
    {
      id: 'cappuccino',
      name_zh: '卡布奇诺',
      name_en: 'Cappuccino',
      iced: false,
      prices: { small: 2800, medium: 3200, large: 3500, xlarge: 3800 },
    },
    {
      id: 'mocha',
      name_zh: '摩卡',
      name_en: 'Mocha',
      iced: true,
      prices: { small: 3100, medium: 3500, large: 3800, xlarge: 4100 },
    },
    { id: 'flat_white', name_zh: '馥芮白', name_en: 'Flat White', iced: false, prices: { small: 3200, medium: 3600 } },
    {
      id: 'caramel_macchiato',
      name_zh: '焦糖玛奇朵',
      name_en: 'Caramel Macchiato',
      iced: true,
      prices: { small: 3200, medium: 3600, large: 3900, xlarge: 4200 },
    },
    { id: 'espresso', name_zh: '浓缩咖啡', name_en: 'Espresso', iced: false, prices: { small: 2000 } },
  ],
};

export function findDrink(menu: Menu, id: string): Drink | undefined {
  return menu.drinks.find((d) => d.id === id);
}

function isSize(value: string): value is Size {
  return (SIZES as readonly string[]).includes(value);
}

/** Price an order line against the menu; every refusal names what was wrong and what is allowed. */
export function quote(menu: Menu, line: OrderLine): Result<Quote> {
  const drink = findDrink(menu, line.drink);
  if (drink === undefined) {
    return err('UNKNOWN_DRINK', `"${line.drink}" is not on the menu`, { allowed: menu.drinks.map((d) => d.id) });
  }
  if (!isSize(line.size)) {
    return err('UNKNOWN_SIZE', `"${line.size}" is not a size`, { allowed: SIZES });
  }
  const base = drink.prices[line.size];
  if (base === undefined) {
    return err('UNKNOWN_SIZE', `${drink.name_en} is not offered in ${line.size}`, {
      allowed: SIZES.filter((s) => drink.prices[s] !== undefined),
    });
  }
  if (!Number.isSafeInteger(line.quantity) || line.quantity < 1 || line.quantity > MAX_QUANTITY) {
    return err('INVALID_QUANTITY', `quantity must be an integer from 1 to ${MAX_QUANTITY}`, {
      received: line.quantity,
    });
  }
  if (line.options.temperature === 'iced' && !drink.iced) {
    return err('UNKNOWN_OPTION', `${drink.name_en} cannot be served iced`, { option: 'temperature' });
  }
  let unitAmount = base;
  if (line.options.milk === 'oat') unitAmount += menu.surcharges.oat_milk;
  unitAmount += (line.options.extra_shots ?? 0) * menu.surcharges.extra_shot;
  const unit = money(unitAmount, menu.currency);
  if (!unit.ok) return unit;
  const total = multiplyMoney(unit.value, line.quantity);
  if (!total.ok) return total;
  const temp = line.options.temperature === 'iced' ? ' (iced)' : '';
  return ok({
    drink,
    size: line.size,
    quantity: line.quantity,
    options: line.options,
    unitPrice: unit.value,
    total: total.value,
    description:
      `${line.quantity} × ${SIZE_NAMES_ZH[line.size]}${drink.name_zh} ${line.size} ` +
      `${drink.name_en.toLowerCase()}${temp}`,
  });
}

export type { Currency };
