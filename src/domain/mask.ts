/**
 * Masking of personal data and secrets before anything is logged. Pure string functions so
 * that every log adapter and every transport masks the same way.
 */

/** Mainland mobile numbers, optionally with +86/0086 and spaces or dashes: 138 0013 8000. */
const PHONE_RE = /(?<![\d])(?:(?:\+|00)86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?![\d])/g;
/** 13–19 digit card numbers (with optional spaces/dashes). */
const CARD_RE = /(?<![\d])\d(?:[\s-]?\d){12,18}(?![\d])/g;

/** 13800138000 → 138****8000 */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '').replace(/^(?:0086|86)(?=1\d{10}$)/, '');
  if (digits.length < 7) return '*'.repeat(digits.length);
  return `${digits.slice(0, 3)}****${digits.slice(-4)}`;
}

/** 6222020200112233445 → ************3445 */
export function maskCard(card: string): string {
  const digits = card.replace(/\D/g, '');
  return `${'*'.repeat(Math.max(0, digits.length - 4))}${digits.slice(-4)}`;
}

/** Replace every phone and card number found inside free text. */
export function maskText(text: string): string {
  return text.replace(PHONE_RE, (m) => maskPhone(m)).replace(CARD_RE, (m) => maskCard(m));
}

/** A secret is never shown: only its length class. */
export function maskSecret(secret: string): string {
  return secret.length === 0 ? '' : '[REDACTED]';
}
