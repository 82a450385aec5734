import { err, ok, type Result } from '../result.js';

/**
 * Mainland China mobile numbers as people type them: "+86 138-0013-8000", "0086 13800138000",
 * "１３８００１３８０００" (full-width, from Chinese input methods). Normalisation yields the bare
 * national number (11 digits, or 13 for IoT segments) or a refusal with a stable code.
 */

/**
 * Separators people put between digit groups: spaces of every width, hyphens and dashes, brackets
 * around the country code.
 */
const SEPARATORS = /[\s\u00a0\u3000\-\u2010-\u2015\u2212\uff0d()（）]/g;

/** Full-width digits and plus sign (U+FF10–FF19, U+FF0B) → ASCII. */
function toHalfWidth(text: string): string {
  return text.replace(/[\uff10-\uff19\uff0b]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
}

export const NATIONAL_LENGTHS = [11, 13] as const;

/**
 * Normalise a typed number to its national digits. Refusals:
 * `PHONE_INVALID_FORMAT` (empty, letters or symbols), `PHONE_INVALID_LENGTH` (not 11 digits,
 * nor 13 for an IoT number), `PHONE_NOT_MOBILE` (does not start with 1: a landline, a foreign
 * country code…). The segment table (number-segments.ts) decides what the digits belong to.
 */
export function normalizePhoneNumber(input: unknown): Result<string> {
  if (typeof input !== 'string' && typeof input !== 'number') {
    return err('PHONE_INVALID_FORMAT', 'phone number must be a string of digits', { received: typeof input });
  }
  // A number given as a JS number cannot carry a leading + or 0, so it is taken as digits.
  const raw = typeof input === 'number' ? (Number.isSafeInteger(input) && input > 0 ? String(input) : '') : input;
  let text = toHalfWidth(raw.trim()).replace(SEPARATORS, '');
  if (text === '') return err('PHONE_INVALID_FORMAT', 'phone number is empty');
  let international = false;
  if (text.startsWith('+')) {
    text = text.slice(1);
    international = true;
  } else if (text.startsWith('00')) {
    text = text.slice(2);
    international = true;
  }
  if (!/^\d+$/.test(text)) {
    return err(
      'PHONE_INVALID_FORMAT',
      'phone number may contain only digits, spaces, dashes and a leading +86 or 0086',
    );
  }
  if (international) {
    if (!text.startsWith('86')) {
      return err('PHONE_NOT_MOBILE', 'only mainland China numbers (+86) can be recharged', {
        country_code: text.slice(0, 3),
      });
    }
    text = text.slice(2);
  } else if (text.length === 13 && text.startsWith('861')) {
    // "8613800138000": the country code without + or 00. No national mobile or IoT number starts
    // with 86, so this reading is unambiguous.
    text = text.slice(2);
  }
  if (!text.startsWith('1')) {
    return err(
      'PHONE_NOT_MOBILE',
      'mainland mobile numbers start with 1; this looks like a landline or service number',
      {
        prefix: text.slice(0, 3),
      },
    );
  }
  if (text.length !== 11 && text.length !== 13) {
    return err('PHONE_INVALID_LENGTH', 'a mainland mobile number has 11 digits (13 for IoT numbers)', {
      length: text.length,
    });
  }
  return ok(text);
}
