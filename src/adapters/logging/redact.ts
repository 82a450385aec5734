import { maskPhone, maskText } from '../../domain/mask.js';

const SECRET_KEY = new RegExp(
  '^(?:password|passwd|secret|client_secret|token|access_token|refresh_token|api_?key|authorization|cookie|' +
    'set-cookie|private_?key|master_?key|key|apiv3_key|sign|signature)$',
  'i',
);
const PHONE_KEY = /^(?:phone|mobile|phone_?number|phoneno|charge_phone)$/i;
/** W3C trace ids are random hex: a run of digits in one is not a phone or card number to mask. */
const TRACE_KEY = /^(?:trace_id|span_id|traceparent)$/;
const TRACE_VALUE = /^[0-9a-f-]{16,55}$/;
const MAX_DEPTH = 8;

/**
 * Mask a value before it is logged: phone and card numbers inside any string, secrets by key
 * name, at any depth. Never mutates its input; cycles and deep nesting are cut, not followed.
 */
export function redactForLog(value: unknown): unknown {
  return walk(value, 0, new WeakSet());
}

function walk(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return maskText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1, seen));
    if (value instanceof Error) {
      return {
        type: value.name,
        message: maskText(value.message),
        ...(value.stack === undefined ? {} : { stack: maskText(value.stack) }),
        ...('code' in value && typeof value.code === 'string' ? { code: value.code } : {}),
      };
    }
    if (value instanceof Date) return value.toISOString();
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_KEY.test(k)) out[k] = v === undefined || v === null || v === '' ? v : '[REDACTED]';
      else if (TRACE_KEY.test(k) && typeof v === 'string' && TRACE_VALUE.test(v)) out[k] = v;
      else if (PHONE_KEY.test(k) && (typeof v === 'string' || typeof v === 'number')) out[k] = maskPhone(String(v));
      else out[k] = walk(v, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}
