import { createCipheriv, createDecipheriv } from 'node:crypto';
import { gatewayContract } from '../../../../test/contracts/payment-gateway-contract.js';
import { startWechatpayHarness } from '../../../../test/support/wechatpay-harness.js';
import type { RawNotification } from '../../../ports/payment-gateway.js';

/**
 * Re-seal the resource with a changed amount, as someone holding the API v3 key but not the
 * platform's private key could: the GCM tag is valid, the platform signature no longer is.
 */
function resealWithAmount(raw: RawNotification, apiV3Key: Buffer, newAmount: number): RawNotification {
  const env = JSON.parse(raw.body) as { resource: { ciphertext: string; nonce: string; associated_data: string } };
  const r = env.resource;
  const sealed = Buffer.from(r.ciphertext, 'base64');
  const d = createDecipheriv('aes-256-gcm', apiV3Key, Buffer.from(r.nonce));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  d.setAAD(Buffer.from(r.associated_data));
  const plain = JSON.parse(
    Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]).toString('utf8'),
  ) as { amount: { total: number } };
  plain.amount.total = newAmount;
  const c = createCipheriv('aes-256-gcm', apiV3Key, Buffer.from(r.nonce));
  c.setAAD(Buffer.from(r.associated_data));
  r.ciphertext = Buffer.concat([c.update(JSON.stringify(plain), 'utf8'), c.final(), c.getAuthTag()]).toString('base64');
  return { headers: raw.headers, body: JSON.stringify(env) };
}

// At the root, as api.mch.weixin.qq.com serves it, and under a prefix, as a shared simulator mounts it.
for (const prefix of ['', '/wechatpay']) {
  gatewayContract(
    `WeChat Pay v3 connector against the simulator face over HTTP${prefix === '' ? '' : ` under ${prefix}`}`,
    async () => {
      const h = await startWechatpayHarness({ prefix });
      return {
        gateway: h.gateway,
        bank: h.bank,
        method: 'wechat_native',
        notificationFor: (e) => h.notificationFor(e),
        tamperAmount: (raw, amount) => resealWithAmount(raw, h.keys.apiV3Key, amount),
        close: () => h.close(),
      };
    },
  );
}
