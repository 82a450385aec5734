import { err, ok, type Result } from '../result.js';

/**
 * Invisible characters that change nothing a person sees but would split what the grammar reads
 * ("1380013\u200B8000" shows as one number): removed before parsing, so what is read is what is shown.
 */
const INVISIBLE = /[\u00AD\u200B-\u200D\u2060\uFEFF]/g;

/**
 * Characters no text a person typed needs, and that can make what is shown differ from what runs:
 * C0/C1 controls but tab and line breaks (NUL among them, which PostgreSQL's text refuses), DEL,
 * the bidi controls (U+202E shows "00083100831" as 13800138000), every other format character
 * (tags, invisible operators) but the invisible joiners above, and unpaired surrogates (no
 * character at all: the database would store U+FFFD instead).
 */
const UNSAFE =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|(?![\u00AD\u200B-\u200D\u2060\uFEFF])\p{Cf}|\p{Cs}/u;

/** Where the first unsafe character of `text` is and which it is, or undefined when there is none. */
export function findUnsafeCharacter(text: string): { readonly index: number; readonly codePoint: string } | undefined {
  const m = UNSAFE.exec(text);
  if (m === null) return undefined;
  const cp = m[0].codePointAt(0) ?? 0;
  return { index: m.index, codePoint: `U+${cp.toString(16).toUpperCase().padStart(4, '0')}` };
}

/**
 * Text a person wrote, made safe to parse: refused (INVALID_CHARACTERS) when it holds a control,
 * bidi or other format character; invisible joiners and zero-width spaces are dropped.
 */
export function visibleText(text: string): Result<string> {
  const bad = findUnsafeCharacter(text);
  if (bad !== undefined)
    return err(
      'INVALID_CHARACTERS',
      `the text holds an invisible control character (${bad.codePoint} at ${bad.index}); type it again without it`,
      { character: bad.codePoint, index: bad.index },
    );
  return ok(text.replace(INVISIBLE, ''));
}

/**
 * One canonical form for every utterance before any rule looks at it: full-width letters and
 * digits become ASCII (NFKC), letters lower case, Chinese punctuation plain, dashes one kind,
 * runs of blanks one space.
 */
export function normaliseText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u2010-\u2015\u2212\uFE58\uFE63]/g, '-')
    .replace(/[，。！？；：、“”‘’「」『』《》（）【】~～…]/g, (c) => PUNCT[c] ?? ' ')
    .replace(/[\p{Cc}\p{Cf}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const PUNCT: Readonly<Record<string, string>> = {
  '，': ',',
  '。': '.',
  '！': '!',
  '？': '?',
  '；': ';',
  '：': ':',
  '、': ',',
};

/** Whether the person wrote in Chinese (questions are asked back in their language). */
export function looksChinese(text: string): boolean {
  return /[\u3400-\u9fff]/.test(text);
}
