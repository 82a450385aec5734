import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { wechatpayGatewayFromSettings } from '../src/adapters/gateways/wechatpay/wechatpay-keys.js';
import { loadConfig } from '../src/config/load-config.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { registerWechatpayFace } from '../src/simulator/wechatpay/wechatpay-face.js';
import { loadOrCreateWechatpayKeys, wechatpayGatewayEntry } from '../src/simulator/wechatpay/wechatpay-keys.js';

describe('a service configured from the keys a standalone simulator wrote', () => {
  it('keeps its keys across restarts (secrets 0600) and the printed entry configures a working connector', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'autoglm-wxsim-')), 'keys');
    const first = loadOrCreateWechatpayKeys(dir);
    const again = loadOrCreateWechatpayKeys(dir);
    expect(again.merchantSerialNo).toBe(first.merchantSerialNo);
    expect(again.apiV3Key.equals(first.apiV3Key)).toBe(true);
    expect(again.platformPublicKey.export({ type: 'spki', format: 'pem' })).toBe(
      first.platformPublicKey.export({ type: 'spki', format: 'pem' }),
    );
    expect(statSync(join(dir, 'apiclient_key.pem')).mode & 0o777).toBe(0o600);

    const bank = new SimulatedGateway({ payerActionMethods: ['wechat_native'] });
    const app = Fastify();
    registerWechatpayFace(app, bank, { ...first, prefix: '/wechatpay' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = app.server.address() as AddressInfo;
      const entry = wechatpayGatewayEntry(
        again,
        dir,
        `http://127.0.0.1:${port}/wechatpay`,
        'http://127.0.0.1:8787/api/v1/callbacks/wechatpay',
      );
      const file = join(dir, '..', 'config.json');
      writeFileSync(file, JSON.stringify({ payment_gateway: 'wx', gateways: { wx: entry } }));
      const config = loadConfig({ file, env: {} });
      if (!config.ok) throw new Error(config.error.issues.join('\n'));
      const g = config.value.gateways.wx;
      if (g?.type !== 'wechatpay') throw new Error('not a wechatpay entry');
      const gateway = wechatpayGatewayFromSettings('wx', g);
      const created = await gateway.create({
        outTradeNo: 'standalone001',
        amount: { amount: 1500, currency: 'CNY' },
        subject: '大杯拿铁',
        method: 'wechat_native',
        payer: 'p',
      });
      expect(created.status).toBe('pending');
      expect(bank.payPending('standalone001')).toBe(true);
      expect(await gateway.query('standalone001')).toMatchObject({
        status: 'succeeded',
        amount: { amount: 1500, currency: 'CNY' },
      });
    } finally {
      await app.close();
    }
  });
});
