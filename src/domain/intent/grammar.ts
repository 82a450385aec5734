import type { Menu } from '../menu.js';
import { err, type DomainError } from '../result.js';
import type { ActionSpec } from './action-spec.js';
import { DRINK_ALIASES, ENGLISH_COUNTS, LAST_ORDER_WORDS, NOT_ON_MENU, SIZE_WORDS } from './lexicon.js';
import { bareYuanToFen, findAmount, foreignCurrency, NUMBER_TOKEN, parseCount } from './numbers.js';
import { normalisePhone } from './phone.js';
import { normaliseText, visibleText } from './text.js';

/** Longest utterance the grammar reads; longer text is refused, not truncated. */
export const MAX_UTTERANCE_LENGTH = 500;

/**
 * What the grammar read from one utterance: the action it names (if any), the slots it found
 * (loose values, validated later by the catalog), or the first invalid value it met.
 */
export interface Analysis {
  readonly action: string | undefined;
  readonly slots: Readonly<Record<string, unknown>>;
  readonly error: DomainError | undefined;
  /** The person wrote Chinese: questions go back in Chinese. */
  readonly chinese: boolean;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const alternation = (words: readonly string[]): string =>
  [...words]
    .sort((a, b) => b.length - a.length)
    .map(escape)
    .join('|');
/** English words need word boundaries; Chinese ones cannot have them. */
const bounded = (words: readonly string[]): string =>
  [...words]
    .sort((a, b) => b.length - a.length)
    .map((w) => (/^[a-z]/.test(w) ? `\\b${escape(w)}\\b` : escape(w)))
    .join('|');

const NEGATION_BEFORE = /(?:不|别|没|甭|勿|无需|无须|不用|不要|不需要|不必|don'?t|do not|not|never|no need to)\s*$/;

/** Strong action words in priority order: the first action whose words occur (un-negated) wins. */
const ACTION_RULES_SOURCE: ReadonlyArray<readonly [string, RegExp]> = [
  ['cancel_order', /取消|不要\s*了|不想要\s*了|别做\s*了|撤销|撤单|算\s*了吧?$|\bcancel|\bcall off\b|\bnever ?mind\b/],
  ['refund', /退款|退钱|退\s*了|退(?=\s|$)|退掉|退单|退回|要退|给我退|退给|\brefund|money back|\breimburse/],
  ['query_balance', /余额|还剩多少钱|还有多少钱|\bbalance\b|\bwallet\b|how much money|money (?:do i have|is left)/],
  [
    'recharge_phone',
    new RegExp(
      String.raw`充值|充话费|话费|充\s*(?=[-0-9一二两三四五六七八九十百千个点]|$|\s)|充一下|\btop[ -]?up\b|\btopup\b|` +
        String.raw`\brecharge|add credit|phone credit|mobile credit`,
    ),
  ],
  [
    'query_order',
    new RegExp(
      String.raw`订单.{0,6}状态|查(?:一下|下)?(?:订单|单子|我的单|那单|这单|状态)|查询订单|到哪了|好了没|做好了吗|进度|` +
        String.raw`\bstatus\b|where(?:'s| is)\b|\btrack\b|check (?:on )?(?:my |the )?order|` +
        String.raw`look up (?:my |the )?order|show (?:me )?(?:my |the )?order`,
    ),
  ],
  [
    'submit_payment',
    new RegExp(
      String.raw`付款|付钱|支付|付\s*吧|付了|付一下|(?<![\u3400-\u9fff])付(?![\u3400-\u9fff])|买单|结账|结帐|确认付|确认下单|` +
        String.raw`就这样付|去付|\bpay\b|\bcheckout\b|\bcheck out\b|\bconfirm\b|确认`,
    ),
  ],
];

/** The same rules with the global flag, compiled once (matchAll needs it). */
const ACTION_RULES: ReadonlyArray<readonly [string, RegExp]> = ACTION_RULES_SOURCE.map(
  ([name, re]) => [name, new RegExp(re.source, 'g')] as const,
);

/** Words that mean "order something" when a drink or size is also there. */
const ORDER_VERB = new RegExp(
  String.raw`点|来|要|买|喝|整|下单|\border\b|get me|i(?:'d| would) like|\bi want\b|can i (?:get|have)|give me|` +
    String.raw`i'?ll (?:have|take)|\bgrab\b|\bget\b|咖啡|coffee`,
);

const SUGAR_RULES: ReadonlyArray<readonly [RegExp, string]> = [
  [/无糖|不加糖|不要糖|去糖|零糖|\bno sugar\b|sugar[- ]free|\bunsweetened\b|without sugar/, 'none'],
  [/少糖|微糖|少点糖|\bless sugar\b|\blittle sugar\b|\blight sugar\b|\blow sugar\b/, 'less'],
  [/半糖|\bhalf sugar\b|\bhalf sweet\b/, 'half'],
  [/全糖|正常糖|标准糖|多糖|\bnormal sugar\b|\bregular sugar\b|\bfull sugar\b/, 'normal'],
];
const MILK_RULES: ReadonlyArray<readonly [RegExp, string]> = [
  [/燕麦奶|燕麦|\boat ?milk\b|\boat\b/, 'oat'],
  [/脱脂奶?|\bskim(?:med)?(?: milk)?\b/, 'skim'],
  [/全脂奶?|\bwhole milk\b/, 'whole'],
];
const OPTION_RULES = [
  [SUGAR_RULES, 'sugar', /糖|sugar|sweet/],
  [MILK_RULES, 'milk', /奶|燕麦|脂|milk|oat|skim/],
] as const;
const TEMPERATURE_RULES: ReadonlyArray<readonly [RegExp, string]> = [
  [/去冰|少冰|多冰|加冰|冰的|冰|\biced\b|\bice\b|\bcold\b|\bon the rocks\b/, 'iced'],
  [/热的|热|\bhot\b|\bwarm\b/, 'hot'],
];
const EXTRA_SHOT = new RegExp(
  `加\\s*(?<zh>[一二两三1-3])?\\s*(?:份|个|shot)?\\s*(?:浓缩|shot)|` +
    `(?<en>\\d|one|two|three|an?)?\\s*extra shots?|\\bdouble shot\\b`,
);

const CN_COUNT = '[一二两俩三四五六七八九十0-9]+';

/** A bare number next to a recharge verb, meant as yuan. */
const BARE_YUAN = new RegExp(
  `(?:充值?|充个|top[ -]?up|recharge|with|add)\\s*(?<n>${NUMBER_TOKEN})(?![\\d.])|(?<n2>${NUMBER_TOKEN})\\s*(?:的话费|话费)`,
);

/** A compiled grammar for one menu and one set of registered actions. */
export class Grammar {
  private readonly drinkRe: RegExp;
  private readonly drinkByAlias: ReadonlyMap<string, string>;
  private readonly singleWordAliases: ReadonlyArray<readonly [string, string]>;
  private readonly notOnMenuRe: RegExp;
  private readonly sizeRe: RegExp;
  private readonly sizeByWord: ReadonlyMap<string, string>;
  private readonly englishCountRe: RegExp;
  private readonly chineseCountRe: RegExp;
  private readonly lastOrderRe: RegExp;
  private readonly countTokenRe: RegExp;
  private readonly custom: ReadonlyArray<{ readonly spec: ActionSpec; readonly re: RegExp }>;

  constructor(menu: Menu, customActions: readonly ActionSpec[] = []) {
    const byAlias = new Map<string, string>();
    for (const d of menu.drinks) {
      const en = d.name_en.toLowerCase();
      const names = [d.id, d.id.replace(/_/g, ' '), d.name_zh, en, `${en}s`, ...(DRINK_ALIASES[d.id] ?? [])];
      for (const n of names) if (!byAlias.has(n.toLowerCase())) byAlias.set(n.toLowerCase(), d.id);
    }
    this.drinkByAlias = byAlias;
    this.drinkRe = new RegExp(bounded([...byAlias.keys()]), 'g');
    this.singleWordAliases = [...byAlias.entries()].filter(([a]) => /^[a-z]{5,}$/.test(a));
    this.notOnMenuRe = new RegExp(bounded(NOT_ON_MENU.filter((w) => !byAlias.has(w))));
    this.sizeByWord = new Map(SIZE_WORDS);
    this.sizeRe = new RegExp(
      `(?:(?<count>${CN_COUNT})\\s*)?(?<size>${bounded(SIZE_WORDS.map(([w]) => w))})(?:\\s*的)?`,
    );
    const drinkish = bounded([
      ...byAlias.keys(),
      ...SIZE_WORDS.map(([w]) => w),
      'iced',
      'hot',
      'cups?',
      'coffees?',
      'oat',
      'skim',
    ]);
    this.englishCountRe = new RegExp(
      `\\b(?<count>\\d+|${alternation(Object.keys(ENGLISH_COUNTS))})\\s+` +
        `(?:(?:cups?|glasses|mugs?) of\\s+)?(?=${drinkish})`,
    );
    this.chineseCountRe = new RegExp(
      `(?<count>${CN_COUNT})\\s*(?:杯|份|个)|(?:[x×*]\\s*(?<times>\\d+)\\b)|\\b(?<times2>\\d+)\\s*x\\b`,
    );
    this.lastOrderRe = new RegExp(bounded(LAST_ORDER_WORDS));
    // Every number that stands where a count does: before a cup word, a size or a drink, or after ×.
    this.countTokenRe = new RegExp(
      `(?<![\\d.,/⁄])(?<sign>${COUNT_SIGN}\\s*)?(?<n>${COUNT_NUMBER})\\s*(?=杯|份|个|x\\b|` +
        `(?:cups?|glasses|mugs?)\\b|${drinkish})|(?<![a-z])[x×*]\\s*(?<sign2>${COUNT_SIGN}\\s*)?(?<n2>${COUNT_NUMBER})`,
      'g',
    );
    this.custom = customActions
      .filter((s) => s.grammar !== undefined && s.grammar.keywords.length > 0)
      .map((spec) => ({ spec, re: new RegExp(bounded((spec.grammar?.keywords ?? []).map((k) => k.toLowerCase()))) }));
  }

  /** A count written as a fraction, with a sign or an exponent: refused, never read as its digits. */
  private malformedCount(text: string): DomainError | undefined {
    for (const m of text.matchAll(this.countTokenRe)) {
      const g = m.groups ?? {};
      const n = (g.n ?? g.n2 ?? '').trim();
      const signed = g.sign !== undefined || g.sign2 !== undefined;
      if (!signed && PLAIN_COUNT.test(n)) continue;
      const written = m[0].trim();
      return err('INVALID_QUANTITY', `a quantity is a whole number of cups: "${written}" is not one`, {
        received: written,
      }).error;
    }
    return undefined;
  }

  /** Read one utterance. Pure and total: any string gives an Analysis, never an exception. */
  analyse(input: string): Analysis {
    const chinese = /[\u3400-\u9fff]/.test(input);
    const none = (error?: DomainError): Analysis => ({ action: undefined, slots: {}, error, chinese });
    if (input.length > MAX_UTTERANCE_LENGTH * 4)
      return none(err('INPUT_TOO_LONG', `say it in at most ${MAX_UTTERANCE_LENGTH} characters`).error);
    // Refused or cleaned before anything reads it: what the person sees is what is parsed.
    const visible = visibleText(input);
    if (!visible.ok) return none(visible.error);
    let text = normaliseText(visible.value);
    if (text.length > MAX_UTTERANCE_LENGTH)
      return none(err('INPUT_TOO_LONG', `say it in at most ${MAX_UTTERANCE_LENGTH} characters`).error);
    const slots: Record<string, unknown> = {};
    const options: Record<string, unknown> = {};

    // Our order ids are case-sensitive: read them before anything lower-cases or cuts the text.
    const id = text.includes('ord_') ? /\b(ord_[A-Za-z0-9]{4,60})\b/.exec(visible.value.normalize('NFKC')) : null;
    if (id !== null) {
      slots.order_id = id[1];
      text = text.replace((id[1] as string).toLowerCase(), ' ');
    } else {
      // Left in the text: "查下那单" needs its 那单 to be read as a query.
      if (this.lastOrderRe.test(text)) slots.order_id = 'last';
    }

    const phone = takePhone(text);
    if (phone.error !== undefined) return { ...none(phone.error) };
    if (phone.phone !== undefined) slots.phone = phone.phone;
    text = phone.rest;

    const foreign = foreignCurrency(text);
    if (foreign !== undefined) return none(foreign);

    const amount = findAmount(text);
    if (amount !== undefined) {
      if (!amount.amount.ok) return none(amount.amount.error);
      slots.amount = amount.amount.value;
      text = text.slice(0, amount.index) + ' ' + text.slice(amount.index + amount.length);
    }

    // Cheap guards first: most utterances name no option at all.
    const shot = text.includes('加') || text.includes('shot') ? EXTRA_SHOT.exec(text) : null;
    if (shot !== null) {
      const n = shot.groups?.zh ?? shot.groups?.en;
      options.extra_shots = n === undefined || n === 'a' || n === 'an' ? 1 : (ENGLISH_COUNTS[n] ?? parseCount(n) ?? 1);
      text = cut(text, shot);
    }
    for (const [rules, key, guard] of OPTION_RULES) {
      if (!guard.test(text)) continue;
      for (const [re, value] of rules) {
        const m = re.exec(text);
        if (m !== null) {
          options[key] = value;
          text = cut(text, m);
          break;
        }
      }
    }

    // Drinks before temperatures would lose 冰 in 冰美式; temperatures first lose nothing.
    for (const [re, value] of TEMPERATURE_RULES) {
      const m = re.exec(text);
      if (m !== null) {
        options.temperature = value;
        text = cut(text, m);
        break;
      }
    }

    const drinks = new Set<string>();
    let drinkAt = -1;
    for (const m of text.matchAll(this.drinkRe)) {
      const d = this.drinkByAlias.get(m[0]);
      if (d !== undefined) {
        drinks.add(d);
        if (drinkAt < 0) drinkAt = m.index;
      }
    }
    const latin = /[a-z]/.test(text);
    if (drinks.size === 0 && latin) {
      for (const w of text.match(/[a-z]{5,}/g) ?? []) {
        const near = this.singleWordAliases.find(([alias]) => withinOneEdit(w, alias));
        if (near !== undefined) {
          drinks.add(near[1]);
          text = text.replace(w, ` ${near[0]} `);
          drinkAt = text.indexOf(near[0]);
          break;
        }
      }
    }
    if (drinks.size > 1)
      return none(
        err('INTENT_AMBIGUOUS', 'one drink per order, please: say them one at a time', { drinks: [...drinks] }).error,
      );

    const malformed = this.malformedCount(text);
    if (malformed !== undefined) return none(malformed);
    const english = latin ? this.englishCountRe.exec(text) : null;
    const size = this.sizeRe.exec(text);
    if (size !== null) {
      slots.size = this.sizeByWord.get(size.groups?.size ?? '');
      const c = size.groups?.count;
      if (c !== undefined) slots.quantity = parseCount(c) ?? c;
      text = cut(text, size);
    }
    const count = this.chineseCountRe.exec(text);
    if (count !== null && slots.quantity === undefined) {
      const c = count.groups?.count ?? count.groups?.times ?? count.groups?.times2 ?? '';
      slots.quantity = parseCount(c) ?? c;
      text = cut(text, count);
    } else if (english !== null && slots.quantity === undefined) {
      const c = english.groups?.count ?? '';
      slots.quantity = ENGLISH_COUNTS[c] ?? parseCount(c) ?? c;
    }
    const [drink] = drinks;
    if (drink !== undefined) slots.drink = drink;
    if (Object.keys(options).length > 0) slots.options = options;

    // Strong words first, skipping negated ones ("不用确认直接付款" is a payment, not a confirmation).
    const actions: string[] = [];
    for (const [name, re] of ACTION_RULES) {
      if (hasUnnegated(text, re)) actions.push(name);
    }
    let action = actions[0];
    const orderish = drink !== undefined || slots.size !== undefined;
    const orderVerb = ORDER_VERB.test(text);
    if (action === undefined && drink === undefined && (orderVerb || orderish)) {
      const other = this.notOnMenuRe.exec(text);
      if (other !== null)
        return none(err('UNKNOWN_DRINK', `"${other[0]}" is not on the menu`, { received: other[0] }).error);
    }
    if (orderish && (action === undefined || (action === 'submit_payment' && orderVerb))) action = 'order_coffee';
    if (action === 'recharge_phone' && drink !== undefined) {
      return none(err('INTENT_AMBIGUOUS', 'one request at a time, please: a top-up or a coffee', {}).error);
    }
    if (action === undefined) {
      for (const c of this.custom) {
        if (c.re.test(text)) {
          action = c.spec.name;
          Object.assign(slots, c.spec.grammar?.extract?.(text) ?? {});
          break;
        }
      }
    }
    if (action === undefined && /咖啡|\bcoffee\b/.test(text) && orderVerb) action = 'order_coffee';
    if (action === 'recharge_phone' && slots.amount === undefined) {
      // "充值五十", "top up … with 30": a bare number next to the verb is yuan.
      const bare = BARE_YUAN.exec(text);
      const n = bare?.groups?.n ?? bare?.groups?.n2;
      if (n !== undefined) {
        const fen = bareYuanToFen(n);
        if (!fen.ok) return none(fen.error);
        slots.amount = fen.value;
      }
    }
    if (action === 'recharge_phone' && /(?:^|\s|充值?)-\s*\d/.test(text) && slots.amount === undefined) {
      return none(err('INVALID_AMOUNT', 'amount must not be negative').error);
    }
    if (action === 'recharge_phone' && slots.phone === undefined) {
      // "给10086充50元": a number was named, and it is no mobile number.
      const short = /(?<![\d.])\d{5,}(?![\d.])/.exec(text);
      if (short !== null)
        return none(
          err('INVALID_PHONE', `a mainland mobile number has 11 digits, not ${short[0].length}`, {
            digits: short[0].length,
          }).error,
        );
    }
    if (action === undefined && slots.phone !== undefined) action = 'recharge_phone';
    return { action, slots: action === undefined ? slots : pick(slots, action), error: undefined, chinese };
  }
}

/** Signs people put before a number ("-3杯", "负3杯", "+2 lattes"). */
const COUNT_SIGN = '(?:[-+]|负|minus|plus)';
/**
 * Anything that reads as a number, whole or not: 3, 0.5, 2,5, 1e2, 1/2 (and ½, which NFKC makes
 * 1⁄2), 一点五, 二分之一, 半, half, two point five. A count
 * must be a plain whole number; the others are refused rather than read as their last digit.
 */
const COUNT_NUMBER =
  `(?:\\d+(?:[.,]\\d+)*(?:e[-+]?\\d+)?(?:[/⁄]\\d+)?|[零〇一二两俩三四五六七八九十百千万]+` +
  `(?:点[零〇一二三四五六七八九]+|分之[零〇一二两三四五六七八九十]+)?|半|(?:a |one )?half(?: an?)?|` +
  `\\b[a-z]+ point [a-z]+)`;
const PLAIN_COUNT = /^(?:\d+|[零〇一二两俩三四五六七八九十百千万]+)$/;

/** Keep only the slots an action takes; the others were words about something else. */
function pick(slots: Record<string, unknown>, action: string): Record<string, unknown> {
  const keys = SLOTS_BY_ACTION[action];
  if (keys === undefined) return slots;
  return Object.fromEntries(Object.entries(slots).filter(([k]) => keys.includes(k)));
}

const SLOTS_BY_ACTION: Readonly<Record<string, readonly string[]>> = {
  order_coffee: ['drink', 'size', 'quantity', 'options'],
  recharge_phone: ['phone', 'amount'],
  submit_payment: ['order_id', 'amount'],
  cancel_order: ['order_id'],
  refund: ['order_id', 'amount'],
  query_order: ['order_id'],
  query_balance: [],
};

function cut(text: string, m: RegExpExecArray): string {
  return `${text.slice(0, m.index)} ${text.slice(m.index + m[0].length)}`;
}

function hasUnnegated(text: string, re: RegExp): boolean {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (!NEGATION_BEFORE.test(text.slice(Math.max(0, m.index - 12), m.index))) return true;
    if (m[0].length === 0) re.lastIndex++;
  }
  return false;
}

const PHONE_RUN = new RegExp(
  String.raw`(?<![\d¥$+]|\d[.,])(?<prefix>(?:\+|00)86[\s-]*)?(?<run>\d(?:[ -]?\d){6,20})(?!\d|[.,]\d|e[-+]?\d)` +
    String.raw`(?!\s*(?:块|元|圆|毛|角|yuan|rmb|cny|kuai|bucks?|杯|份|个|cups?))`,
);

/**
 * Phone numbers with spaces, dashes and +86/0086. A digit run is split where needed so that
 * "13800138000 100" gives the phone and leaves 100 for the amount. A run that is no valid
 * number is an INVALID_PHONE error, not something to guess around.
 */
function takePhone(text: string): { phone?: string; error?: DomainError; rest: string } {
  const m = PHONE_RUN.exec(text);
  if (m === null) return { rest: text };
  const prefix = m.groups?.prefix ?? '';
  const groups = (m.groups?.run ?? '').split(/[ -]/);
  for (let i = 0; i < groups.length; i++) {
    for (let j = i + 1; j <= groups.length; j++) {
      const candidate = (i === 0 ? prefix : '') + groups.slice(i, j).join('');
      const p = normalisePhone(candidate);
      if (p.ok) {
        const left = groups.slice(0, i).join(' ');
        const right = groups.slice(j).join(' ');
        const rest = `${text.slice(0, m.index)} ${left} ${right} ${text.slice(m.index + m[0].length)}`;
        const again = PHONE_RUN.exec(rest);
        if (again !== null && normalisePhone((again.groups?.prefix ?? '') + (again.groups?.run ?? '')).ok) {
          return { rest, error: err('INTENT_AMBIGUOUS', 'one phone number at a time, please').error };
        }
        return { phone: p.value, rest };
      }
    }
  }
  const whole = normalisePhone(prefix + groups.join(''));
  return whole.ok ? { phone: whole.value, rest: text } : { rest: text, error: whole.error };
}

/** Damerau–Levenshtein distance ≤ 1 (typos: one letter wrong, missing, extra or swapped). */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > 1) return false;
  let i = 0;
  while (i < la && i < lb && a[i] === b[i]) i++;
  if (la === lb) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  return la > lb ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}
