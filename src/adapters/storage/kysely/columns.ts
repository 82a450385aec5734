/** pg returns bigint as string; SQLite returns numbers. Money never exceeds 2^53 (domain bound). */
export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
