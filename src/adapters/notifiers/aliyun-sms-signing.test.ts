import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalQuery, percentEncode, rpcSignature, signedForm, stringToSign } from './aliyun-sms-signing.js';

/**
 * Alibaba Cloud's own worked example of the RPC signature (SignatureVersion 1.0), from its
 * "签名机制" page for ECS DescribeRegions (quoted at https://developer.aliyun.com/ask/210168; the
 * help centre's "Signature mechanism" pages show the same Signature in their sample URL):
 * AccessKeyId testid, AccessKeySecret testsecret, GET. Note the example spells the parameter
 * `TimeStamp`; the signature depends only on the names and values, so that is what is used here.
 */
const EXAMPLE: Readonly<Record<string, string>> = {
  TimeStamp: '2016-02-23T12:46:24Z',
  Format: 'XML',
  AccessKeyId: 'testid',
  Action: 'DescribeRegions',
  SignatureMethod: 'HMAC-SHA1',
  SignatureNonce: '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf',
  Version: '2014-05-26',
  SignatureVersion: '1.0',
};
/**
 * The page prints the pairs inside the third part joined by a bare `&`; by its own rule the whole
 * canonical string is percent-encoded, so they are `%26` — and only that string gives the page's
 * Signature below (the bare-`&` string does not), so the printed one lost its encoding in rendering.
 */
const EXAMPLE_STRING_TO_SIGN =
  'GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1' +
  '%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0' +
  '%26TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26';
const EXAMPLE_SIGNATURE = 'CT9X0VtwR86fNWSnsc6v8YGOjuE=';

describe('Aliyun RPC signature (SignatureVersion 1.0)', () => {
  it("builds exactly the StringToSign of Aliyun's documented DescribeRegions example", () => {
    expect(stringToSign('GET', EXAMPLE)).toBe(EXAMPLE_STRING_TO_SIGN);
  });

  it("produces exactly the Signature of Aliyun's documented example (testid / testsecret)", () => {
    expect(rpcSignature('GET', EXAMPLE, 'testsecret')).toBe(EXAMPLE_SIGNATURE);
    const printed = EXAMPLE_STRING_TO_SIGN.replaceAll('%26', '&');
    expect(createHmac('sha1', 'testsecret&').update(printed).digest('base64')).not.toBe(EXAMPLE_SIGNATURE);
  });

  it('ignores a Signature parameter already present when signing', () => {
    expect(rpcSignature('GET', { ...EXAMPLE, Signature: 'stale' }, 'testsecret')).toBe(EXAMPLE_SIGNATURE);
  });

  it('percent-encodes as the rule says: space %20, * %2A, ~ kept, UTF-8 multi-byte', () => {
    expect(percentEncode("a b*c~d!'()")).toBe('a%20b%2Ac~d%21%27%28%29');
    expect(percentEncode('成功')).toBe('%E6%88%90%E5%8A%9F');
    expect(percentEncode('{"amount":"20.00"}')).toBe('%7B%22amount%22%3A%2220.00%22%7D');
  });

  it('the POST form carries the canonical query and its POST signature, encoded', () => {
    const params = { ...EXAMPLE, TemplateParam: '{"status":"成功"}' };
    const form = new URLSearchParams(signedForm(params, 'testsecret'));
    const expected = createHmac('sha1', 'testsecret&').update(stringToSign('POST', params), 'utf8').digest('base64');
    expect(form.get('Signature')).toBe(expected);
    expect(form.get('TemplateParam')).toBe('{"status":"成功"}');
    expect(signedForm(params, 'testsecret').startsWith(`${canonicalQuery(params)}&Signature=`)).toBe(true);
  });
});
