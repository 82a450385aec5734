/** An audit row's change as lines `field: before → after`, only the fields that changed. */
export function diff(before: unknown, after: unknown): string {
  const b = (typeof before === 'object' && before !== null ? before : {}) as Record<string, unknown>;
  const a = (typeof after === 'object' && after !== null ? after : {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter(
    (k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]),
  );
  return keys.map((k) => `${k}: ${JSON.stringify(b[k] ?? null)} → ${JSON.stringify(a[k] ?? null)}`).join('\n');
}
