import { err, ok, type Result } from '../result.js';

/** A mainland mobile number: 11 digits, 1 then 3–9 (the segment decides the operator elsewhere). */
export const MOBILE_RE = /^1[3-9]\d{9}$/;

/**
 * Clean a phone number as people write it — "+86 138-0013-8000", "0086 13800138000",
 * "138 0013 8000" — and check it is an 11-digit mainland mobile number.
 */
export function normalisePhone(value: unknown): Result<string> {
  if (typeof value !== 'string' && typeof value !== 'number') {
    return err('INVALID_PHONE', 'phone must be an 11-digit mainland mobile number', { received: typeof value });
  }
  const raw = String(value).normalize('NFKC').trim();
  if (!/^[+\d\s().-]+$/.test(raw)) {
    return err('INVALID_PHONE', 'phone must contain only digits (spaces, dashes and a +86 prefix are allowed)', {
      reason: 'characters',
    });
  }
  let digits = raw.replace(/[\s().-]/g, '');
  if (digits.startsWith('+86')) digits = digits.slice(3);
  else if (digits.startsWith('0086')) digits = digits.slice(4);
  else if (digits.startsWith('86') && digits.length === 13) digits = digits.slice(2);
  if (digits.includes('+')) return err('INVALID_PHONE', 'only +86 numbers are supported', { reason: 'country' });
  if (digits.length !== 11) {
    return err('INVALID_PHONE', `a mainland mobile number has 11 digits, not ${digits.length}`, {
      digits: digits.length,
    });
  }
  if (!MOBILE_RE.test(digits))
    return err('INVALID_PHONE', 'a mainland mobile number starts with 13–19', { reason: 'prefix' });
  return ok(digits);
}
