import { describe, expect, it } from 'vitest';
import { findUnsafeCharacter, visibleText } from './text.js';

describe('visibleText: what is parsed is what is shown', () => {
  it.each([
    ['a\u0000b', 'U+0000'],
    ['\u202E00083100831\u202C', 'U+202E'],
    ['\u2066100\u2069', 'U+2066'],
    ['x\u200Fy', 'U+200F'],
    ['\u061C1', 'U+061C'],
    ['a\u0085b', 'U+0085'],
    ['a\u007Fb', 'U+007F'],
    ['tag\u{E0041}', 'U+E0041'],
    ['lone \uD800 surrogate', 'U+D800'],
  ])('refuses %j (%s) with INVALID_CHARACTERS', (text, codePoint) => {
    const r = visibleText(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'INVALID_CHARACTERS', details: { character: codePoint } });
  });

  it('drops zero-width spaces and joiners, which change nothing shown', () => {
    expect(visibleText('1380013\u200B8000 \uFEFF两\u200D杯\u00AD')).toEqual({ ok: true, value: '13800138000 两杯' });
  });

  it('keeps tabs, line breaks, emoji and CJK as they are', () => {
    for (const t of ['line one\nline\ttwo\r\n', '👩‍💻 拿铁 ☕️', '¥30 元']) expect(findUnsafeCharacter(t)).toBeUndefined();
  });
});
