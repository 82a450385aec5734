import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { AlipayGateway, type AlipayGatewayOptions } from '../../src/adapters/gateways/alipay/alipay-gateway.js';
import { registerAlipayFace, type AlipayFaceOptions } from '../../src/simulator/alipay/alipay-face.js';
import { SimulatedGateway, type SimulatedGatewayOptions } from '../../src/simulator/simulated-gateway.js';

export interface RsaPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** PKCS#1 PEM, the form alipay-sdk expects by default. */
  readonly privatePem: string;
  readonly publicPem: string;
}

export function rsaPair(): RsaPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    publicKey,
    privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export const APP_ID = '2021000000000001';

/** The Alipay face of the simulator on a bare Fastify app over real HTTP, and our connector pointed at it. */
export interface AlipayRig {
  readonly app: FastifyInstance;
  readonly bank: SimulatedGateway;
  readonly gateway: AlipayGateway;
  readonly url: string;
  /** Our application's keys (we sign requests). */
  readonly appKeys: RsaPair;
  /** The simulated Alipay's keys (it signs answers and notifications). */
  readonly alipayKeys: RsaPair;
  close(): Promise<void>;
}

export async function alipayRig(
  options: {
    bank?: SimulatedGatewayOptions;
    face?: Partial<AlipayFaceOptions>;
    gateway?: Partial<AlipayGatewayOptions>;
    keys?: { app: RsaPair; alipay: RsaPair };
  } = {},
): Promise<AlipayRig> {
  const appKeys = options.keys?.app ?? rsaPair();
  const alipayKeys = options.keys?.alipay ?? rsaPair();
  const bank = new SimulatedGateway({ payerActionMethods: ['alipay_qr'], ...options.bank });
  const app = Fastify({ logger: false });
  registerAlipayFace(app, bank, {
    appId: APP_ID,
    appPublicKey: appKeys.publicKey,
    alipayPrivateKey: alipayKeys.privateKey,
    ...options.face,
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `${address}/gateway.do`;
  const gateway = new AlipayGateway({
    appId: APP_ID,
    privateKey: appKeys.privateKey,
    alipayPublicKey: alipayKeys.publicKey,
    gatewayUrl: url,
    timeoutMs: 5000,
    ...options.gateway,
  });
  return {
    app,
    bank,
    gateway,
    url,
    appKeys,
    alipayKeys,
    close: async () => {
      bank.closeJournal();
      await app.close();
    },
  };
}
