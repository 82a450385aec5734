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
