import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { App } from '../../src/composition/create-app.js';
import { describeConfig } from '../../src/config/load-config.js';
import { JuheSimulator } from '../../src/simulator/juhe-simulator.js';
import { type SimulatorServer, startSimulatorServer } from '../../src/simulator/server/simulator-server.js';
import { SimulatedCarriers } from '../../src/simulator/simulated-carriers.js';
import { SimulatedGateway } from '../../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../../src/simulator/simulated-merchant.js';
import { standardFaces } from '../../src/simulator/standard-faces.js';
import { fetchFor, type LogSink, startTestApp } from './test-app.js';

/**
 * One full flow of the service over real HTTP, for the data-at-rest tests: coffee orders paid
 * from the embedded simulator and through the standalone simulator's Alipay and WeChat Pay faces
 * (settled by their signed callbacks), a wallet top-up, phone recharges from the wallet and paid
 * directly, through a Juhe-protocol channel that answers with signed callbacks (duplicated, and
 * preceded by forged copies), a batch file, and the agent asked in words to top a number up.
 * Every number it uses is in `phones`; every secret the service holds is in `secrets`; every
 * signature a callback carried is collected in `signatures`.
 */
export interface FullFlow {
  readonly app: App;
  readonly url: string;
  readonly logs: LogSink;
  /** Every phone number the flow names, in the form it was given and normalised. */
  readonly phones: readonly string[];
  /** The service's credentials: channel keys, gateway private keys and API v3 key (as configured). */
  readonly secrets: readonly string[];
  /** Signatures of the callbacks the service received (after the flow ran). */
  readonly signatures: string[];
  run(): Promise<void>;
  close(): Promise<void>;
}

const JUHE_KEY = 'flow-juhe-app-key-0123456789abcdef';
const JUHE_OPENID = 'JHflowopenid0123456789';
const OPERATORS = ['CHINA_MOBILE', 'CHINA_UNICOM', 'CHINA_TELECOM', 'CHINA_BROADNET', 'VIRTUAL'];

/** The numbers of the flow: wallet and direct recharges, the batch file, the agent's words. */
export const FLOW_PHONES = {
  wallet: ['13800138001', '13900139002', '15000150003'],
  direct: ['18600186004'],
  batch: ['13711110005', '13711110006', '18911110007', '13311110008'],
  agent: '13612345679',
  /** A batch row refused on arrival (a digit short): stored as sent, sealed like the rest. */
  refused: '1371111000',
} as const;

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

async function poll<T>(f: () => Promise<T>, done: (t: T) => boolean, what: string, tries = 600): Promise<T> {
  let v = await f();
  for (let i = 0; i < tries && !done(v); i += 1) {
    await new Promise((r) => setTimeout(r, 25));
    v = await f();
  }
  if (!done(v)) throw new Error(`${what}: still ${JSON.stringify(v)}`);
  return v;
}

/** Values of keys naming a signature, anywhere in a callback's headers or body (JSON or form). */
function signaturesIn(headers: Record<string, unknown>, body: unknown): string[] {
  const found: string[] = [];
  const take = (k: string, v: unknown): void => {
    if (/sign/i.test(k) && typeof v === 'string' && v.length >= 16) found.push(v);
  };
  for (const [k, v] of Object.entries(headers)) take(k, v);
  if (typeof body === 'string') {
    for (const [k, v] of new URLSearchParams(body)) take(k, v);
  } else if (body !== null && typeof body === 'object') {
    for (const [k, v] of Object.entries(body)) take(k, v);
  }
  return found;
}

/** Every file's text in a directory (the simulator's keys as written: PEMs, the API v3 key). */
function filesIn(dir: string): string[] {
  return readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
}

export async function startFullFlow(overrides: Record<string, unknown> = {}, dbPath?: string): Promise<FullFlow> {
  const keysDir = mkdtempSync(join(tmpdir(), 'autoglm-flow-keys-'));
  const bank = new SimulatedGateway({ payerActionMethods: ['alipay_qr', 'wechat_native'] });
  const nativeSecret = 'flow-native-secret-of-some-length';
  const standard = standardFaces({ secret: nativeSecret, keysDir });
  const sim: SimulatorServer = await startSimulatorServer({
    bank,
    merchant: new SimulatedMerchant(),
    faces: standard.faces,
    notifyRetry: { baseMs: 5, maxMs: 50 },
    chaos: { notify: { duplicate_rate: 0.5 } },
  });
  const carriers = new SimulatedCarriers();
  const juhe = new JuheSimulator({
    appKey: JUHE_KEY,
    openId: JUHE_OPENID,
    carriers,
    seed: 5,
    chaos: { failureRate: 0.25 },
    processingMs: { min: 50, max: 150 },
    callbackDuplicates: 1,
    forgeCallbacks: true,
  });
  const juheUrl = await juhe.start();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  juhe.callbackUrl = `${url}/api/v1/recharge-callbacks/juhe`;
  const gateways = standard.entries(sim.url, url);
  const { app, logs } = await startTestApp(
    {
      // Nothing is trusted: every order waits for the person, who confirms it with a method.
      auto_confirm_order: false,
      trusted_actions: [],
      // The user's map replaces the defaults: the embedded simulator is named here for wallet payments.
      gateways: { ...gateways, 'secure-pay-v3': { type: 'simulator' } },
      payment_gateway: 'secure-pay-v3',
      payment_routing: [
        { gateway: 'secure-pay-v3', methods: ['wallet'], priority: 10 },
        { gateway: 'sim-alipay', methods: ['alipay_qr'], priority: 10 },
        { gateway: 'sim-wechatpay', methods: ['wechat_native'], priority: 10 },
      ],
      log: { level: 'debug' },
      worker: { poll_interval_ms: 20, retry_base_ms: 10, retry_max_ms: 50 },
      server: { host: '127.0.0.1', port, wait_for_completion_ms: 1500 },
      recharge: {
        poll_interval_ms: 1000,
        processing_deadline_ms: 5000,
        max_attempts: 1,
        channels: {
          juhe: {
            type: 'juhe',
            base_url: juheUrl,
            api_key: JUHE_KEY,
            openid_secret: JUHE_OPENID,
            operators: OPERATORS,
          },
        },
      },
      ...overrides,
    },
    {},
    dbPath,
  );
  const signatures: string[] = [];
  app.http.addHook('preHandler', (req, _reply, done) => {
    if (req.url.includes('callbacks')) signatures.push(...signaturesIn(req.headers, req.body));
    done();
  });
  // As `autoglm serve` does: the configuration, described for the log at debug level.
  app.logger.debug({ config: describeConfig(app.config) }, 'configuration');
  await app.listen();
  // A client with each person's own key (the test's x-user-id names the person).
  const fetch = fetchFor(app);

  const headers = (user: string, key?: string): Record<string, string> => ({
    'content-type': 'application/json',
    'x-user-id': user,
    ...(key === undefined ? {} : { 'idempotency-key': key }),
  });
  const call = async (method: string, path: string, user: string, body?: unknown, key?: string) => {
    const r = await fetch(`${url}${path}`, {
      method,
      headers: headers(user, key),
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const order = async (user: string, method: string): Promise<void> => {
    const placed = await call('POST', '/api/v1/order', user, { drink: 'latte', size: 'large' }, `o-${user}`);
    expect(placed.status, JSON.stringify(placed.body)).toBe(202);
    const id = (placed.body.order as { id: string }).id;
    const confirmed = await call('POST', `/api/v1/orders/${id}/confirm`, user, { payment_method: method }, `c-${id}`);
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBeLessThan(300);
    const outTradeNo = (confirmed.body.order as { payment: { out_trade_no: string } }).payment.out_trade_no;
    if (method !== 'wallet') {
      await poll(() => Promise.resolve(bank.trade(outTradeNo) !== undefined), Boolean, `trade ${outTradeNo}`);
      expect(bank.payPending(outTradeNo)).toBe(true);
    }
    await poll(
      async () => ((await call('GET', `/api/v1/orders/${id}`, user)).body.order as { status: string }).status,
      (s) => s === 'COMPLETED',
      `order ${id}`,
    );
  };
  const rechargeDone = async (user: string, id: string): Promise<void> => {
    await poll(
      async () => ((await call('GET', `/api/v1/recharges/${id}`, user)).body.recharge as { status: string }).status,
      (s) => s === 'SUCCEEDED' || s === 'FAILED',
      `recharge ${id}`,
    );
  };

  const secrets = [
    JUHE_KEY,
    JUHE_OPENID,
    nativeSecret,
    ...filesIn(keysDir).flatMap((text) =>
      // Each PEM by its body lines (long enough to be unmistakable); of the id files, the keys (API v3).
      text.includes('-----BEGIN')
        ? text.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----'))
        : Object.entries(safeJson(text))
            .filter(([k, v]) => /key|secret/i.test(k) && typeof v === 'string' && v.length >= 16)
            .map(([, v]) => v as string),
    ),
  ];

  return {
    app,
    url,
    logs,
    phones: [
      ...FLOW_PHONES.wallet,
      ...FLOW_PHONES.direct,
      ...FLOW_PHONES.batch,
      FLOW_PHONES.agent,
      FLOW_PHONES.refused,
    ],
    secrets,
    signatures,
    async run() {
      await order('alice', 'wallet');
      await order('bob', 'alipay_qr');
      await order('carol', 'wechat_native');

      const ids: string[] = [];
      // Nothing is trusted: each top-up and recharge is held, then confirmed by its person naming its digest.
      const confirmed = async (user: string, r: Awaited<ReturnType<typeof call>>) => {
        expect(r.status, JSON.stringify(r.body)).toBe(202);
        const held = r.body.held as { confirm: { path: string; body: { digest: string } } };
        const c = await call('POST', held.confirm.path, user, held.confirm.body);
        expect(c.status, JSON.stringify(c.body)).toBe(200);
        return c;
      };
      await confirmed('dave', await call('POST', '/api/v1/wallet/top-ups', 'dave', { amount: 200_000 }, 'fund-dave'));
      for (const [i, phone] of FLOW_PHONES.wallet.entries()) {
        const r = await confirmed(
          'dave',
          await call('POST', '/api/v1/recharges', 'dave', { phone, amount: 5000 }, `r-${i}`),
        );
        ids.push((r.body.recharge as { id: string }).id);
      }
      const direct = await confirmed(
        'erin',
        await call(
          'POST',
          '/api/v1/recharges',
          'erin',
          { phone: FLOW_PHONES.direct[0], amount: 10_000, pay: 'direct' },
          'd-1',
        ),
      );
      for (const id of ids) await rechargeDone('dave', id);
      await rechargeDone('erin', (direct.body.recharge as { id: string }).id);

      const csv = [
        'phone,amount',
        ...FLOW_PHONES.batch.map((p) => `${p},1000`),
        `${FLOW_PHONES.batch[0]},1000`,
        `${FLOW_PHONES.refused},1000`,
      ].join('\n');
      const uploaded = await fetch(`${url}/api/v1/recharges/batch`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv', 'x-user-id': 'dave', 'idempotency-key': 'batch-1' },
        body: csv,
      });
      expect(uploaded.status).toBe(202);
      const sent = (await uploaded.json()) as {
        batch: { id: string };
        held?: { confirm: { path: string; body: unknown } };
      };
      const batchId = sent.batch.id;
      // Nothing is trusted: the batch is held whole, and dave confirms it.
      expect(sent.held).toBeDefined();
      const yes = await call('POST', sent.held!.confirm.path, 'dave', sent.held!.confirm.body);
      expect(yes.status, JSON.stringify(yes.body)).toBe(200);
      await poll(
        async () => ((await call('GET', `/api/v1/batches/${batchId}`, 'dave')).body.batch as { done: boolean }).done,
        Boolean,
        `batch ${batchId}`,
      );
      const results = await fetch(`${url}/api/v1/batches/${batchId}/results`, { headers: { 'x-user-id': 'dave' } });
      expect(results.status).toBe(200);
      expect(await results.text()).not.toContain(FLOW_PHONES.batch[0]);

      const parsed = await call('POST', '/api/v1/intents/parse', 'dave', { text: `给${FLOW_PHONES.agent}充100块话费` });
      expect(parsed.status).toBe(200);
      const said = await call(
        'POST',
        '/api/v1/agent/messages',
        'dave',
        { text: `给${FLOW_PHONES.agent}充值100` },
        'agent-1',
      );
      expect(said.status, JSON.stringify(said.body)).toBe(200);
      const confirm = (said.body.outcome as { confirm?: { path: string; body: { digest: string } } }).confirm;
      if (confirm === undefined) throw new Error(`the agent did not ask to confirm: ${JSON.stringify(said.body)}`);
      const done = await call('POST', confirm.path, 'dave', confirm.body, 'agent-confirm-1');
      expect(done.status, JSON.stringify(done.body)).toBeLessThan(300);
      await juhe.idle();
    },
    async close() {
      await app.close();
      await juhe.stop();
      await sim.close();
      bank.closeJournal();
    },
  };
}

function safeJson(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
