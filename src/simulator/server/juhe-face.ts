import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPERATORS } from '../../domain/recharge/number-segments.js';
import { JuheSimulator } from '../juhe-simulator.js';
import type { SimulatedCarriers, TopUp } from '../simulated-carriers.js';
import type { SimulatorFace } from './simulator-server.js';

/** Where the Juhe protocol is mounted: the service's `base_url` is `<simulator>/juhe/ofpay/mobile/`. */
export const JUHE_PREFIX = '/juhe';
const JUHE_PATH = `${JUHE_PREFIX}/ofpay/mobile/`;

/** The simulated Juhe account: AppKey and OpenID, kept (0600) beside the other faces' keys. */
export interface JuheKeys {
  readonly appKey: string;
  readonly openId: string;
}

const JUHE_FILE = 'juhe.json';

/** Load the Juhe account from `dir`, or create it, so a restarted simulator still accepts the configured service. */
export function loadOrCreateJuheKeys(dir: string): JuheKeys {
  const path = join(dir, JUHE_FILE);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    const keys = { api_key: randomBytes(16).toString('hex'), openid_secret: `JH${randomBytes(16).toString('hex')}` };
    writeFileSync(path, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  }
  const k = JSON.parse(readFileSync(path, 'utf8')) as { api_key: string; openid_secret: string };
  return { appKey: k.api_key, openId: k.openid_secret };
}

/**
 * The `recharge.channels` entry that points a service at this face. The secrets are left as
 * placeholders naming the file they are in, unless `withSecrets` (tests writing a config file).
 */
export function juheChannelEntry(dir: string, baseUrl: string, withSecrets = false): Record<string, unknown> {
  const keys = loadOrCreateJuheKeys(dir);
  const file = join(dir, JUHE_FILE);
  return {
    type: 'juhe',
    operators: [...OPERATORS],
    base_url: `${baseUrl}${JUHE_PATH}`,
    api_key: withSecrets ? keys.appKey : `<api_key in ${file}>`,
    openid_secret: withSecrets ? keys.openId : `<openid_secret in ${file}>`,
  };
}

function topUpView(t: TopUp): Record<string, unknown> {
  return {
    seq: t.seq,
    order_id: t.orderId,
    channel: t.channel,
    phone: t.phone,
    amount: t.amount.amount,
    currency: t.amount.currency,
    at: t.at,
  };
}

/**
 * Juhe's top-up protocol (telcheck, onlineorder, ordersta, yue) under `/juhe/ofpay/mobile/`,
 * over the one `carriers` ground truth, which `GET /_sim/recharge-ground-truth` reads back
 * (optionally `?prefix=` of order ids, or `?phone=`). The HTTP chaos applies to it like to every
 * face; `recharge_failure_rate` and `recharge_processing_ms` are the carriers' own.
 */
export function juheFace(o: {
  readonly keys: JuheKeys;
  readonly carriers: SimulatedCarriers;
  readonly seed: number;
  readonly name?: string;
}): SimulatorFace {
  const sim = new JuheSimulator({
    appKey: o.keys.appKey,
    openId: o.keys.openId,
    carriers: o.carriers,
    seed: o.seed,
    name: o.name ?? 'juhe',
  });
  return {
    name: 'juhe',
    register(app) {
      app.get<{ Params: { method: string } }>(`${JUHE_PATH}:method`, async (req, reply) => {
        const raw = req.raw.url ?? '';
        const q = raw.indexOf('?');
        const a = await sim.answer(
          req.params.method,
          q < 0 ? '' : raw.slice(q + 1),
          String(req.headers['accept-charset'] ?? ''),
        );
        return reply.code(a.status).headers(a.headers).send(a.body);
      });
      app.get<{ Querystring: { prefix?: string; phone?: string } }>('/_sim/recharge-ground-truth', (req) => {
        const prefix = typeof req.query.prefix === 'string' ? req.query.prefix : '';
        const phone = typeof req.query.phone === 'string' ? req.query.phone : undefined;
        const topUps = o.carriers.groundTruth.filter(
          (t) => t.orderId.startsWith(prefix) && (phone === undefined || t.phone === phone),
        );
        return {
          top_ups: topUps.length,
          phones: new Set(topUps.map((t) => t.phone)).size,
          events: topUps.map(topUpView),
        };
      });
      app.addHook('onClose', async () => {
        await sim.stop();
      });
    },
    onChaos(s) {
      sim.setCarrierChaos({ failureRate: s.recharge_failure_rate, processingMs: s.recharge_processing_ms });
    },
  };
}
