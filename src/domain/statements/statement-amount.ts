/**
 * Amounts on statements are yuan strings ("12.30", "-5.00", "0.5"). They become integer fen by
 * string arithmetic only: a float never touches them, and anything that is not a plain decimal
 * with at most two places is refused rather than rounded.
 */

/** Above this a statement amount is not believable (a hundred million yuan), whatever it says. */
const MAX_STATEMENT_FEN = 10_000_000_000;

const YUAN = /^(-?)(\d{1,12})(?:\.(\d{1,2}))?$/;

/** "12.30" → 1230, "-5.00" → -500, "0.5" → 50; undefined for "", "1.234", "1e3", "1,000", ".5", "5.". */
export function statementYuanToFen(text: string): number | undefined {
  const m = YUAN.exec(text);
  if (m === null) return undefined;
  const [, sign = '', whole = '0', fraction = ''] = m;
  const fen = Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
  if (fen > MAX_STATEMENT_FEN) return undefined;
  return sign === '-' && fen !== 0 ? -fen : fen;
}

/** 1230 → "12.30", -500 → "-5.00": what the simulators write. Integer arithmetic only. */
export function fenToStatementYuan(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`not an amount in fen: ${String(fen)}`);
  const abs = Math.abs(fen);
  const cents = abs % 100;
  return `${fen < 0 ? '-' : ''}${String((abs - cents) / 100)}.${String(cents).padStart(2, '0')}`;
}
