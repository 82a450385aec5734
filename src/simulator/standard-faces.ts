import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerAlipayFace } from './alipay/alipay-face.js';
import { alipayNotificationFor } from './alipay/alipay-notification-for.js';
import type { SimulatedCarriers } from './simulated-carriers.js';
import { juheChannelEntry, juheFace, loadOrCreateJuheKeys } from './server/juhe-face.js';
import { nativeFace } from './server/native-face.js';
import type { SimulatorFace } from './server/simulator-server.js';
import { registerWechatpayFace } from './wechatpay/wechatpay-face.js';
import { loadOrCreateWechatpayKeys, wechatpayGatewayEntry } from './wechatpay/wechatpay-keys.js';
import { wechatpayNotificationFor } from './wechatpay/wechatpay-notification.js';

/** Where each protocol is mounted on the standalone simulator. */
export const FACE_PATHS = { alipay: '/alipay/gateway.do', wechatpay: '/wechatpay' } as const;

/** The simulated Alipay account: the merchant app's key pair and Alipay's own, kept in a directory. */
export interface AlipayKeySet {
  readonly appId: string;
  readonly appPrivateKey: KeyObject;
  readonly appPublicKey: KeyObject;
  readonly alipayPrivateKey: KeyObject;
  readonly alipayPublicKey: KeyObject;
}

const ALIPAY_FILES = {
  app: 'alipay_app_private_key.pem',
  alipay: 'alipay_platform_private_key.pem',
  alipayPublic: 'alipay_public_key.pem',
  ids: 'alipay.json',
} as const;

/**
 * Load the simulated Alipay account from `dir`, or generate it (private keys 0600) — so a
 * restarted simulator still accepts the service that was configured against it.
 */
export function loadOrCreateAlipayKeys(dir: string): AlipayKeySet {
  const idsPath = join(dir, ALIPAY_FILES.ids);
  if (existsSync(idsPath)) {
    const ids = JSON.parse(readFileSync(idsPath, 'utf8')) as { app_id: string };
    const appPrivateKey = createPrivateKey(readFileSync(join(dir, ALIPAY_FILES.app), 'utf8'));
    const alipayPrivateKey = createPrivateKey(readFileSync(join(dir, ALIPAY_FILES.alipay), 'utf8'));
    return {
      appId: ids.app_id,
      appPrivateKey,
      appPublicKey: createPublicKey(appPrivateKey),
      alipayPrivateKey,
      alipayPublicKey: createPublicKey(alipayPrivateKey),
    };
  }
  const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });
  mkdirSync(dir, { recursive: true });
  const secret = { mode: 0o600 };
  writeFileSync(join(dir, ALIPAY_FILES.app), app.privateKey.export({ type: 'pkcs8', format: 'pem' }), secret);
  writeFileSync(join(dir, ALIPAY_FILES.alipay), alipay.privateKey.export({ type: 'pkcs8', format: 'pem' }), secret);
  writeFileSync(join(dir, ALIPAY_FILES.alipayPublic), alipay.publicKey.export({ type: 'spki', format: 'pem' }));
  const appId = '2021000000000001';
  writeFileSync(idsPath, `${JSON.stringify({ app_id: appId }, null, 2)}\n`, secret);
  return {
    appId,
    appPrivateKey: app.privateKey,
    appPublicKey: app.publicKey,
    alipayPrivateKey: alipay.privateKey,
    alipayPublicKey: alipay.publicKey,
  };
}

/** The `gateways` entry that points a service at the simulator's Alipay face. */
export function alipayGatewayEntry(dir: string, baseUrl: string, notifyUrl: string): Record<string, string> {
  const ids = JSON.parse(readFileSync(join(dir, ALIPAY_FILES.ids), 'utf8')) as { app_id: string };
  return {
    type: 'alipay',
    app_id: ids.app_id,
    private_key: join(dir, ALIPAY_FILES.app),
    alipay_public_key: join(dir, ALIPAY_FILES.alipayPublic),
    gateway_url: `${baseUrl}${FACE_PATHS.alipay}`,
    notify_url: notifyUrl,
  };
}

/**
 * Every protocol the standalone simulator speaks, over one order book: its native JSON protocol,
 * Alipay's openapi (QR precreate) and WeChat Pay API v3 (Native), each with its own keys from
 * `keysDir` and its own signed callbacks — and, given the carriers, Juhe's top-up protocol.
 */
export function standardFaces(o: {
  readonly secret: string;
  readonly keysDir: string;
  readonly carriers?: SimulatedCarriers;
  readonly seed?: number;
}): {
  faces: SimulatorFace[];
  entries: (baseUrl: string, notifyBase: string) => Record<string, Record<string, string>>;
  /** `recharge.channels` entries for the recharge faces (secrets as placeholders naming their file). */
  rechargeEntries: (baseUrl: string) => Record<string, Record<string, unknown>>;
} {
  const alipay = loadOrCreateAlipayKeys(o.keysDir);
  const wechat = loadOrCreateWechatpayKeys(o.keysDir);
  const wechatNotify = {
    mchid: wechat.mchid,
    appid: wechat.appid,
    platformSerial: wechat.platformSerial,
    platformPrivateKey: wechat.platformPrivateKey,
    apiV3Key: wechat.apiV3Key,
  };
  const faces: SimulatorFace[] = [
    nativeFace({ secret: o.secret, methods: ['wallet', 'sim_qr'] }),
    {
      name: 'alipay',
      register: (app, ctx) =>
        registerAlipayFace(app, ctx.bank, {
          appId: alipay.appId,
          appPublicKey: alipay.appPublicKey,
          alipayPrivateKey: alipay.alipayPrivateKey,
          path: FACE_PATHS.alipay,
        }),
      notifications: {
        format: (e) => alipayNotificationFor(e, { appId: alipay.appId, alipayPrivateKey: alipay.alipayPrivateKey }),
        methods: ['alipay_qr'],
      },
    },
    {
      name: 'wechatpay',
      register: (app, ctx) =>
        registerWechatpayFace(app, ctx.bank, {
          mchid: wechat.mchid,
          appid: wechat.appid,
          merchantSerialNo: wechat.merchantSerialNo,
          merchantPublicKey: wechat.merchantPublicKey,
          platformSerial: wechat.platformSerial,
          platformPrivateKey: wechat.platformPrivateKey,
          prefix: FACE_PATHS.wechatpay,
        }),
      notifications: {
        format: (e) => {
          const n = wechatpayNotificationFor(e, wechatNotify);
          // WeChat Pay calls back only on success: for anything else there is nothing to send.
          if (n === undefined) throw new Error('WeChat Pay sends no callback for this event');
          return n;
        },
        methods: ['wechat_native'],
      },
    },
  ];
  if (o.carriers !== undefined)
    faces.push(juheFace({ keys: loadOrCreateJuheKeys(o.keysDir), carriers: o.carriers, seed: (o.seed ?? 42) + 7 }));
  const rechargeEntries = (baseUrl: string): Record<string, Record<string, unknown>> =>
    o.carriers === undefined ? {} : { 'sim-juhe': juheChannelEntry(o.keysDir, baseUrl) };
  const entries = (baseUrl: string, notifyBase: string): Record<string, Record<string, string>> => ({
    'sim-alipay': alipayGatewayEntry(o.keysDir, baseUrl, `${notifyBase}/api/v1/callbacks/sim-alipay`),
    'sim-wechatpay': wechatpayGatewayEntry(
      wechat,
      o.keysDir,
      `${baseUrl}${FACE_PATHS.wechatpay}`,
      `${notifyBase}/api/v1/callbacks/sim-wechatpay`,
    ),
  });
  return { faces, entries, rechargeEntries };
}
