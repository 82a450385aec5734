/**
 * Statements speak Asia/Shanghai wall-clock time ("2026-12-04 10:11:12") and business days
 * ("2026-12-04"). China has kept UTC+8 without daylight saving since 1991, so a fixed offset
 * is exact.
 */
const OFFSET_MS = 8 * 3_600_000;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;

/** Whether `text` is a real calendar day written YYYY-MM-DD. */
export function isBusinessDate(text: string): boolean {
  const m = DATE.exec(text);
  if (m === null) return false;
  const [, y, mo, d] = m.map(Number) as [number, number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** The Asia/Shanghai business day (YYYY-MM-DD) an instant falls on. */
export function shanghaiDate(ms: number): string {
  return new Date(ms + OFFSET_MS).toISOString().slice(0, 10);
}

/** An instant as Asia/Shanghai wall-clock time, "YYYY-MM-DD HH:mm:ss". */
export function formatShanghaiTime(ms: number): string {
  const iso = new Date(ms + OFFSET_MS).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** "YYYY-MM-DD HH:mm:ss" (Asia/Shanghai) → ms since epoch; undefined when it is not such a time. */
export function parseShanghaiTime(text: string): number | undefined {
  const m = DATE_TIME.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  if (!isBusinessDate(text.slice(0, 10)) || h > 23 || mi > 59 || s > 59) return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, s) - OFFSET_MS;
}
