import { describe, expect, it } from 'vitest';
import { checkFaceValue, DEFAULT_FACE_VALUE_RULES, type FaceValueRules } from './face-values.js';

const cny = (amount: number) => ({ amount, currency: 'CNY' as const });

describe('face values', () => {
  it.each([1000, 2000, 3000, 5000, 10_000, 20_000, 30_000, 50_000])('%i fen is offered by default', (fen) => {
    expect(checkFaceValue(DEFAULT_FACE_VALUE_RULES, 'CHINA_MOBILE', cny(fen)).ok).toBe(true);
  });

  it.each([100, 999, 1001, 4000, 60_000, 10_050])('%i fen is refused with the offer listed', (fen) => {
    const r = checkFaceValue(DEFAULT_FACE_VALUE_RULES, 'CHINA_UNICOM', cny(fen));
    expect(!r.ok && r.error.code).toBe('FACE_VALUE_NOT_OFFERED');
    expect(!r.ok && r.error.details?.allowed).toEqual([1000, 2000, 3000, 5000, 10_000, 20_000, 30_000, 50_000]);
  });

  it('refuses other currencies', () => {
    const r = checkFaceValue(DEFAULT_FACE_VALUE_RULES, 'CHINA_MOBILE', { amount: 10_000, currency: 'USD' });
    expect(!r.ok && r.error.code).toBe('INVALID_CURRENCY');
  });

  it('per-operator lists and arbitrary whole-yuan amounts by configuration', () => {
    const rules: FaceValueRules = {
      defaultValues: [1000, 5000],
      perOperator: { CHINA_BROADNET: [2000] },
      arbitrary: { enabled: true, minFen: 500, maxFen: 20_000 },
    };
    expect(checkFaceValue(rules, 'CHINA_BROADNET', cny(2000)).ok).toBe(true);
    expect(checkFaceValue(rules, 'CHINA_MOBILE', cny(2000)).ok).toBe(true); // arbitrary
    expect(checkFaceValue(rules, 'CHINA_MOBILE', cny(2050)).ok).toBe(false); // not whole yuan
    expect(checkFaceValue(rules, 'CHINA_MOBILE', cny(400)).ok).toBe(false); // below min
    expect(checkFaceValue(rules, 'CHINA_MOBILE', cny(20_100)).ok).toBe(false); // above max
  });
});
