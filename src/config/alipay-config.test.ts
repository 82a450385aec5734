import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig } from './load-config.js';

const PRIVATE =
  '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCsecret\n-----END PRIVATE KEY-----';

const load = (entry: Record<string, unknown>): ReturnType<typeof loadConfig> =>
  loadConfig({ env: {}, overrides: { payment_gateway: 'alipay', gateways: { alipay: { type: 'alipay', ...entry } } } });

describe('configuration: an alipay gateway entry', () => {
  const minimal = { app_id: '2021000000000001', private_key: PRIVATE, alipay_public_key: './keys/alipay-public.pem' };

  it('takes app_id and keys, with the production gateway and a 10 s timeout by default', () => {
    const r = load(minimal);
    if (!r.ok) throw new Error(r.error.issues.join('\n'));
    expect(r.value.gateways.alipay).toEqual({
      type: 'alipay',
      ...minimal,
      gateway_url: 'https://openapi.alipay.com/gateway.do',
      timeout_ms: 10_000,
    });
  });

  it('takes the simulator URL, a timeout and a notify_url', () => {
    const r = load({
      ...minimal,
      gateway_url: 'http://127.0.0.1:9100/gateway.do',
      timeout_ms: 3000,
      notify_url: 'https://shop.example/api/v1/callbacks/alipay',
    });
    expect(r.ok).toBe(true);
  });

  it.each([
    [{ ...minimal, app_id: '20210000-0001' }, /app_id/],
    [{ ...minimal, private_key: '' }, /private_key/],
    [{ app_id: '2021000000000001', private_key: PRIVATE }, /alipay_public_key/],
    [{ ...minimal, gateway_url: 'ftp://openapi.alipay.com/gateway.do' }, /gateway_url/],
    [{ ...minimal, timeout_ms: 10 }, /timeout_ms/],
    [{ ...minimal, privateKey: PRIVATE }, /unknown key "privateKey"/],
  ])('refuses %o', (entry, expected) => {
    const r = load(entry);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.issues.join('\n')).toMatch(expected);
  });

  it('never shows the private key when the configuration is described', () => {
    const r = load(minimal);
    if (!r.ok) throw new Error(r.error.issues.join('\n'));
    expect(JSON.stringify(describeConfig(r.value))).not.toContain('secret');
  });
});
