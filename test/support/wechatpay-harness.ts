import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  WechatpayGateway,
  type WechatpayGatewayOptions,
} from '../../src/adapters/gateways/wechatpay/wechatpay-gateway.js';
import { SimulatedGateway, type SimEvent } from '../../src/simulator/simulated-gateway.js';
import { registerWechatpayFace, type WechatpayFaceOptions } from '../../src/simulator/wechatpay/wechatpay-face.js';
import { generateWechatpayKeys, type WechatpayKeySet } from '../../src/simulator/wechatpay/wechatpay-keys.js';
import { wechatpayNotificationFor } from '../../src/simulator/wechatpay/wechatpay-notification.js';

/** A bank, the WeChat Pay face over it on 127.0.0.1 (port 0), keys, and a connector pointed at it. */
export interface WechatpayHarness {
  readonly keys: WechatpayKeySet;
  readonly bank: SimulatedGateway;
  readonly app: FastifyInstance;
  readonly baseUrl: string;
  readonly gateway: WechatpayGateway;
  /** A connector with other options against the same face (wrong keys, short timeouts…). */
  connector(over?: Partial<WechatpayGatewayOptions>): WechatpayGateway;
  notificationFor(e: SimEvent): { headers: Record<string, string>; body: string };
  close(): Promise<void>;
}

/** Our connector configured for a simulated merchant account (options override the defaults). */
export function connectorFor(keys: WechatpayKeySet, over: Partial<WechatpayGatewayOptions> = {}): WechatpayGateway {
  return new WechatpayGateway({
    name: 'wechatpay',
    mchid: keys.mchid,
    appid: keys.appid,
    merchantSerialNo: keys.merchantSerialNo,
    merchantPrivateKey: keys.merchantPrivateKey,
    apiV3Key: keys.apiV3Key,
    platformKeys: new Map([[keys.platformSerial, keys.platformPublicKey]]),
    notifyUrl: 'https://merchant.example/cb',
    ...over,
  });
}

export async function startWechatpayHarness(face: Partial<WechatpayFaceOptions> = {}): Promise<WechatpayHarness> {
  const keys = generateWechatpayKeys();
  const bank = new SimulatedGateway({ name: 'wechat-sim', payerActionMethods: ['wechat_native'] });
  const app = Fastify({ logger: false });
  registerWechatpayFace(app, bank, { ...keys, ...face });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}${face.prefix ?? ''}`;
  const connector = (over: Partial<WechatpayGatewayOptions> = {}): WechatpayGateway =>
    connectorFor(keys, { baseUrl, timeoutMs: 5000, ...over });
  const notificationFor = (e: SimEvent): { headers: Record<string, string>; body: string } => {
    const n = wechatpayNotificationFor(e, keys);
    if (n === undefined) throw new Error(`WeChat Pay sends no callback for this ${e.kind} event`);
    return n;
  };
  return { keys, bank, app, baseUrl, gateway: connector(), connector, notificationFor, close: () => app.close() };
}
