import { describe, expect, it } from 'vitest';
import { maskCard, maskPhone, maskSecret, maskText } from './mask.js';

describe('masking', () => {
  it('masks mainland mobile numbers in every common form', () => {
    expect(maskPhone('13800138000')).toBe('138****8000');
    expect(maskPhone('+86 138 0013 8000')).toBe('138****8000');
    expect(maskPhone('0086-138-0013-8000')).toBe('138****8000');
  });

  it('masks numbers inside free text and leaves amounts alone', () => {
    const out = maskText('给13800138000充值100元, 再给 +86 139-0013-9000 充 50');
    expect(out).not.toContain('13800138000');
    expect(out).not.toContain('0013');
    expect(out).toContain('100元');
    expect(out).toContain('138****8000');
    expect(maskText('order 3200 fen at 2026-11-22')).toBe('order 3200 fen at 2026-11-22');
  });

  it('keeps only the last four digits of card numbers', () => {
    expect(maskCard('6222 0202 0011 2233 445')).toBe('***************3445');
    expect(maskText('card 6222020200112233445 used')).toBe('card ***************3445 used');
  });

  it('never shows a secret', () => {
    expect(maskSecret('sk-live-abc')).toBe('[REDACTED]');
    expect(maskSecret('')).toBe('');
  });
});
