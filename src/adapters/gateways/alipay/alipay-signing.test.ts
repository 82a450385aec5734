import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentString, rawMember, rsa2Sign, rsa2Verify } from './alipay-signing.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('content string', () => {
  it('sorts by key, drops sign and empty values, joins raw values', () => {
    const s = contentString({ b: '2', a: '1', sign: 'x', empty: '', c: 'a=b&c d', biz_content: '{"k":"v"}' });
    expect(s).toBe('a=1&b=2&biz_content={"k":"v"}&c=a=b&c d');
  });

  it('sorts by code unit, not by locale (upper case before lower case)', () => {
    expect(contentString({ b: '1', B: '2', _a: '3' })).toBe('B=2&_a=3&b=1');
  });

  it('leaves out more keys when asked (notifications drop sign_type)', () => {
    expect(contentString({ sign_type: 'RSA2', sign: 's', a: '1' }, ['sign', 'sign_type'])).toBe('a=1');
  });
});

describe('RSA2', () => {
  it('verifies what it signed and nothing else', () => {
    const sig = rsa2Sign('a=1&b=2', privateKey);
    expect(rsa2Verify('a=1&b=2', sig, publicKey)).toBe(true);
    expect(rsa2Verify('a=1&b=3', sig, publicKey)).toBe(false);
    expect(rsa2Verify('a=1&b=2', 'not base64!', publicKey)).toBe(false);
    expect(rsa2Verify('a=1&b=2', '', publicKey)).toBe(false);
    expect(rsa2Verify('a=1&b=2', Buffer.from('short').toString('base64'), publicKey)).toBe(false);
  });
});

describe('raw response node', () => {
  it('cuts the exact text of the member, escapes and spacing kept', () => {
    const node = '{"code":"10000","qr_code":"https:\\/\\/qr.alipay.com\\/x","n":{"a":[1,{"b":"}"}]}}';
    const raw = `{ "alipay_trade_precreate_response" : ${node} ,"sign":"abc"}`;
    expect(rawMember(raw, 'alipay_trade_precreate_response')).toBe(node);
    expect(rawMember(raw, 'sign')).toBe('"abc"');
  });

  it('is not fooled by the key inside a string value', () => {
    const raw =
      '{"note":"\\"alipay_trade_query_response\\":{\\"code\\":\\"10000\\"}",' +
      '"alipay_trade_query_response":{"code":"40004"},"sign":"s"}';
    expect(rawMember(raw, 'alipay_trade_query_response')).toBe('{"code":"40004"}');
  });

  it('answers undefined for absent keys and broken JSON', () => {
    for (const raw of ['', '[]', '{}', '{"a":', '{"a":{"b":1}', '{"a" 1}', '{"a":"x"', 'null', '{"a":1,}']) {
      expect(rawMember(raw, 'a_response')).toBeUndefined();
    }
    expect(rawMember('{"a":1,"b":2}', 'c')).toBeUndefined();
  });
});
