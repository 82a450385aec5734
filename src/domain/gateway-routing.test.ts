import { describe, expect, it } from 'vitest';
import { chooseGateway, type GatewayRoute, type GatewayState } from './gateway-routing.js';

const cny = (amount: number) => ({ amount, currency: 'CNY' as const });
const gateways = (overrides: Record<string, Partial<GatewayState>> = {}): Map<string, GatewayState> =>
  new Map(
    Object.entries({
      alipay: { methods: ['alipay_qr'], available: true, ...overrides.alipay },
      wechat: { methods: ['wechat_native'], available: true, ...overrides.wechat },
      sim: { methods: ['wallet', 'alipay_qr', 'wechat_native'], available: true, ...overrides.sim },
      big: { methods: ['alipay_qr'], available: true, ...overrides.big },
    }),
  );
const routes: GatewayRoute[] = [
  { gateway: 'big', minAmount: 100_000, priority: 30 },
  { gateway: 'alipay', maxAmount: 99_999, priority: 20 },
  { gateway: 'wechat', priority: 20 },
  { gateway: 'sim', priority: 0 },
];

describe('chooseGateway', () => {
  it.each([
    ['alipay_qr', 3200, 'alipay'],
    ['alipay_qr', 500_000, 'big'],
    ['wechat_native', 3200, 'wechat'],
    ['wallet', 3200, 'sim'],
  ])('%s for %i goes to %s', (method, amount, expected) => {
    expect(chooseGateway(routes, gateways(), { method, amount: cny(amount) })).toEqual({ ok: true, value: expected });
  });

  it('skips a gateway whose breaker is open and falls back to the next route', () => {
    expect(
      chooseGateway(routes, gateways({ alipay: { available: false } }), { method: 'alipay_qr', amount: cny(3200) }),
    ).toEqual({ ok: true, value: 'sim' });
  });

  it('says GATEWAY_UNAVAILABLE when every eligible gateway is out, GATEWAY_NOT_CONFIGURED when none fits', () => {
    const down = gateways({ wechat: { available: false }, sim: { available: false } });
    const r = chooseGateway(routes, down, { method: 'wechat_native', amount: cny(1) });
    expect(!r.ok && r.error.code).toBe('GATEWAY_UNAVAILABLE');
    const none = chooseGateway(routes, gateways(), { method: 'card', amount: cny(1) });
    expect(!none.ok && none.error.code).toBe('GATEWAY_NOT_CONFIGURED');
  });

  it('a route naming a method its gateway does not support never matches', () => {
    const r = chooseGateway([{ gateway: 'alipay', methods: ['wallet'], priority: 1 }], gateways(), {
      method: 'wallet',
      amount: cny(1),
    });
    expect(r.ok).toBe(false);
  });
});
