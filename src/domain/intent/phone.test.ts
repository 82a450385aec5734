import { describe, expect, it } from 'vitest';
import { normalisePhone } from './phone.js';

describe('mainland mobile numbers', () => {
  it.each([
    '13800138000',
    '138 0013 8000',
    '138-0013-8000',
    '+86 138 0013 8000',
    '+8613800138000',
    '0086 13800138000',
    '8613800138000',
    '１３８００１３８０００',
    '(138) 0013-8000',
  ])('%s → 13800138000', (input) => {
    expect(normalisePhone(input)).toEqual({ ok: true, value: '13800138000' });
  });

  it.each([
    ['1380013800', 'digits'],
    ['138001380001', 'digits'],
    ['12800138000', 'prefix'],
    ['10086', 'digits'],
    ['+1 415 555 0100', 'country'],
    ['138OO138OOO', 'characters'],
    ['', 'digits'],
  ])('%s is INVALID_PHONE', (input) => {
    const r = normalisePhone(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('INVALID_PHONE');
  });

  it('refuses non-strings and non-numbers', () => {
    expect(normalisePhone({})).toMatchObject({ ok: false, error: { code: 'INVALID_PHONE' } });
    expect(normalisePhone(13800138000)).toEqual({ ok: true, value: '13800138000' });
  });
});
