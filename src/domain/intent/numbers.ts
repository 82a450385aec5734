import { MAX_AMOUNT_MINOR } from '../money.js';
import { err, ok, type DomainError, type Result } from '../result.js';

/**
 * Numbers as people write them in Chinese and English: 一百, 两百五, 一千零五十, 3千, 30.5,
 * 1,000, 1e9. Everything here is pure string work; money leaves as integer fen, never a float.
 */

const ZH_DIGITS: Readonly<Record<string, number>> = {
  零: 0,
  〇: 0,
  一: 1,
  壹: 1,
  幺: 1,
  二: 2,
  贰: 2,
  两: 2,
  俩: 2,
  三: 3,
  叁: 3,
  仨: 3,
  四: 4,
  肆: 4,
  五: 5,
  伍: 5,
  六: 6,
  陆: 6,
  七: 7,
  柒: 7,
  八: 8,
  捌: 8,
  九: 9,
  玖: 9,
};
const ZH_SMALL_UNITS: Readonly<Record<string, number>> = { 十: 10, 拾: 10, 百: 100, 佰: 100, 千: 1000, 仟: 1000 };
const ZH_BIG_UNITS: Readonly<Record<string, number>> = { 万: 10_000, 萬: 10_000, 亿: 100_000_000 };

/** Characters a Chinese or mixed numeral is made of (arabic digits may mix in: 3千, 2万5). */
export const ZH_NUMERAL_CHARS = '零〇一壹幺二贰两俩三叁仨四肆五伍六陆七柒八捌九玖十拾百佰千仟万萬亿';

/**
 * An integer written in Chinese (or mixed with arabic digits). Colloquial elisions count:
 * 两百五 = 250, 一千五 = 1500, 三万五 = 35000; with 零 they do not: 一千零五 = 1005.
 * Returns undefined when the text is not a well-formed numeral.
 */
export function parseChineseInteger(text: string): number | undefined {
  if (text.length === 0) return undefined;
  let total = 0;
  let section = 0;
  let digit: number | undefined;
  let lastUnit = 0;
  // Whether the pending digit came straight after a unit (两百五), which makes it an elision.
  let afterUnit = false;
  let prevWasUnit = false;
  let lastSmall = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch >= '0' && ch <= '9') {
      let j = i;
      while (j < text.length && (text[j] as string) >= '0' && (text[j] as string) <= '9') j++;
      if (digit !== undefined) return undefined;
      digit = Number(text.slice(i, j));
      afterUnit = prevWasUnit;
      prevWasUnit = false;
      i = j;
      continue;
    }
    const d = ZH_DIGITS[ch];
    if (d !== undefined) {
      if (d === 0) {
        if (digit !== undefined) section += digit;
        digit = undefined;
      } else {
        // Two bare digits in a row ("一二") are a digit string, not a numeral.
        if (digit !== undefined) return undefined;
        digit = d;
        afterUnit = prevWasUnit;
      }
      prevWasUnit = false;
      i++;
      continue;
    }
    const small = ZH_SMALL_UNITS[ch];
    if (small !== undefined) {
      // Within a section units only go down: 十十 and 十百 are not numbers.
      if (lastSmall !== 0 && small >= lastSmall) return undefined;
      lastSmall = small;
      // 十五 = 15: a leading 十 has an implied one.
      const n = digit ?? (small === 10 ? 1 : undefined);
      if (n === undefined) return undefined;
      section += n * small;
      digit = undefined;
      lastUnit = small;
      prevWasUnit = true;
      i++;
      continue;
    }
    const big = ZH_BIG_UNITS[ch];
    if (big !== undefined) {
      if (digit !== undefined) section += digit;
      if (section === 0 && total === 0) return undefined;
      total = big === 100_000_000 ? (total + section) * big : total + section * big;
      section = 0;
      digit = undefined;
      lastSmall = 0;
      lastUnit = big;
      prevWasUnit = true;
      i++;
      continue;
    }
    return undefined;
  }
  if (digit !== undefined) {
    // 两百五: a trailing digit right after a unit is worth a tenth of that unit.
    section += afterUnit && lastUnit >= 100 && digit < 10 ? digit * (lastUnit / 10) : digit;
  }
  const value = total + section;
  return Number.isSafeInteger(value) ? value : undefined;
}

/** A decimal written as a string ("30", "30.5", "1,000.25", "1e9", "三十", "三十点五") → its parts. */
export interface DecimalNumber {
  /** Integer digits without separators, e.g. "30". */
  readonly whole: string;
  /** Fraction digits, e.g. "5" for 30.5; empty when none. */
  readonly fraction: string;
}

const ARABIC_RE = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$/;
const SCIENTIFIC_RE = /^(\d+)(?:\.(\d+))?e\+?(\d{1,4})$/;

/** Read a number token; undefined when it is not one. */
export function parseDecimal(token: string): DecimalNumber | undefined {
  const t = token.trim().toLowerCase();
  const a = ARABIC_RE.exec(t);
  if (a !== null) return { whole: stripZeros((a[1] as string).replace(/,/g, '')), fraction: a[2] ?? '' };
  const s = SCIENTIFIC_RE.exec(t);
  if (s !== null) {
    const digits = (s[1] as string) + (s[2] ?? '');
    const point = (s[1] as string).length + Number(s[3]);
    if (point > 40) return { whole: '9'.repeat(40), fraction: '' };
    const padded = digits.padEnd(point, '0');
    return { whole: stripZeros(padded.slice(0, point)), fraction: padded.slice(point) };
  }
  const dot = t.split('点');
  if (dot.length === 2 && /^[零〇一二三四五六七八九]+$/.test(dot[1] as string)) {
    const whole = parseChineseInteger(dot[0] as string);
    if (whole === undefined) return undefined;
    return { whole: String(whole), fraction: [...(dot[1] as string)].map((c) => String(ZH_DIGITS[c])).join('') };
  }
  const zh = parseChineseInteger(t);
  return zh === undefined ? undefined : { whole: String(zh), fraction: '' };
}

function stripZeros(s: string): string {
  const r = s.replace(/^0+(?=\d)/, '');
  return r === '' ? '0' : r;
}

/** Integer value of a token, for quantities ("两", "2", "十"); undefined if not a whole number. */
export function parseCount(token: string): number | undefined {
  const n = parseDecimal(token);
  if (n === undefined || n.fraction.replace(/0+$/, '') !== '') return undefined;
  if (n.whole.length > 9) return Number.MAX_SAFE_INTEGER;
  return Number(n.whole);
}

/**
 * Yuan (+ jiao + fen) → integer fen. More than two decimals is refused rather than rounded:
 * money is never silently changed.
 */
export function yuanToFen(yuan: DecimalNumber, jiao = 0, fen = 0): Result<number> {
  const frac = yuan.fraction.replace(/0+$/, '');
  if (frac.length > 2) {
    return err('INVALID_AMOUNT', 'an amount has at most two decimals (fen)', {
      received: `${yuan.whole}.${yuan.fraction}`,
    });
  }
  if (yuan.whole.length > 14) {
    return err('AMOUNT_TOO_LARGE', `amount must not exceed ${MAX_AMOUNT_MINOR} fen`, { max: MAX_AMOUNT_MINOR });
  }
  const value = Number(yuan.whole) * 100 + Number(frac.padEnd(2, '0')) + jiao * 10 + fen;
  if (value > MAX_AMOUNT_MINOR) {
    return err('AMOUNT_TOO_LARGE', `amount must not exceed ${MAX_AMOUNT_MINOR} fen`, {
      received: value,
      max: MAX_AMOUNT_MINOR,
    });
  }
  if (value <= 0) return err('INVALID_AMOUNT', 'amount must be greater than zero', { received: value });
  return ok(value);
}

/** A number token of the kind amounts and counts use: arabic (with , . e) or Chinese. */
export const NUMBER_TOKEN =
  `(?:\\d+(?:\\.\\d+)?e\\+?\\d{1,4}|\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?|\\d+(?:\\.\\d+)?|` +
  `[${ZH_NUMERAL_CHARS}0-9]+(?:点[零〇一二三四五六七八九]+)?)`;

// "bucks" is slang for dollars: refused as a foreign currency, never read as yuan.
const AMOUNT_UNIT = '(?:块钱|块|元钱|元|圆|rmb|yuan|cny|kuai)';
// "$" is a dollar sign, not a yuan one: "$30" is refused as a foreign currency, never read as ¥30.
const LEADING = '(?:¥|rmb|cny)';
const NEG = '(?:-|负|minus\\s*)';

/**
 * Money phrases: ¥30, 30元, 30.5元, 五十块, 一百块五, 3块5毛, 5毛, RMB 30, 30 yuan. The unit
 * (or the ¥ sign) is required; bare numbers are left to the caller, who knows the context.
 */
const AMOUNT_RE = new RegExp(
  [
    `(?<neg1>${NEG}\\s*)?${LEADING}\\s*(?<neg2>${NEG}\\s*)?(?<lead>${NUMBER_TOKEN})(?:\\s*${AMOUNT_UNIT})?`,
    `(?<neg3>${NEG}\\s*)?(?<num>${NUMBER_TOKEN})\\s*${AMOUNT_UNIT}` +
      `(?:(?<jiao>[一二两三四五六七八九0-9])(?:毛|角)?(?:(?<fen>[一二三四五六七八九0-9])分)?)?`,
    `(?<neg4>${NEG}\\s*)?(?<onlyJiao>[一二两三四五六七八九0-9])\\s*(?:毛|角)(?:钱)?`,
  ].join('|'),
  'iu',
);

export interface AmountMatch {
  /** Where the phrase is, so the caller can cut it out of the text. */
  readonly index: number;
  readonly length: number;
  readonly amount: Result<number>;
}

/**
 * An amount written with an exponent ("1e2元"): refused, never read as 100 yuan or as its last
 * digits. A person does not write money so; a model or a paste does, and the guess would move money.
 */
function exponentRefusal(token: string): Result<never> | undefined {
  if (!/\de/i.test(token)) return undefined;
  return err('INVALID_AMOUNT', `an amount is written in plain digits: "${token.trim()}" has an exponent`, {
    received: token.trim(),
  });
}

/** Find the first money phrase in normalised text. */
export function findAmount(text: string): AmountMatch | undefined {
  const m = AMOUNT_RE.exec(text);
  if (m === null) return undefined;
  const g = m.groups ?? {};
  const negative = g.neg1 !== undefined || g.neg2 !== undefined || g.neg3 !== undefined || g.neg4 !== undefined;
  const at = { index: m.index, length: m[0].length };
  if (negative)
    return { ...at, amount: err('INVALID_AMOUNT', 'amount must not be negative', { received: m[0].trim() }) };
  if (g.onlyJiao !== undefined) {
    const jiao = parseCount(g.onlyJiao) ?? 0;
    return { ...at, amount: yuanToFen({ whole: '0', fraction: '' }, jiao) };
  }
  const token = g.lead ?? g.num ?? '';
  const exponent = exponentRefusal(token);
  if (exponent !== undefined) return { ...at, amount: exponent };
  const n = parseDecimal(token);
  if (n === undefined)
    return { ...at, amount: err('INVALID_AMOUNT', `"${token}" is not a number`, { received: token }) };
  const jiao = g.jiao === undefined ? 0 : (parseCount(g.jiao) ?? 0);
  const fen = g.fen === undefined ? 0 : (parseCount(g.fen) ?? 0);
  return { ...at, amount: yuanToFen(n, jiao, fen) };
}

/** Money in another currency ("100美元", "100元 USD", "$30", "50欧元", "100刀", "100 bucks"): never read as yuan. */
const FOREIGN_CURRENCY = new RegExp(
  String.raw`美元|美金|美刀|欧元|日元|日币|英镑|港币|港元|澳元|澳币|加元|韩元|台币|卢布|泰铢|卢比|[$€£₩₹₽円]|(?<=\d\s*)刀|` +
    String.raw`\b(?:usd|eur|euros?|jpy|yen|gbp|hkd|aud|cad|sgd|krw|twd|inr|dollars?|bucks?|pounds?|quid)\b`,
);

/** An INVALID_CURRENCY error when normalised text names money in a currency other than yuan. */
export function foreignCurrency(text: string): DomainError | undefined {
  const m = FOREIGN_CURRENCY.exec(text);
  if (m === null) return undefined;
  const named = m[0].trim();
  return err('INVALID_CURRENCY', `only yuan (CNY) is taken: say the amount in 元, not "${named}"`, {
    received: named,
    allowed: ['CNY'],
  }).error;
}

/** A bare number meant as yuan (recharge context: "充值五十", "top up … with 30"). */
export function bareYuanToFen(token: string): Result<number> {
  const exponent = exponentRefusal(token);
  if (exponent !== undefined) return exponent;
  const n = parseDecimal(token);
  if (n === undefined) return err('INVALID_AMOUNT', `"${token}" is not a number`, { received: token });
  return yuanToFen(n);
}
