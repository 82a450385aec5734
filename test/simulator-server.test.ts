import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatorHttpGateway } from '../src/adapters/gateways/simulator-http/simulator-http-gateway.js';
import type { RawNotification } from '../src/ports/payment-gateway.js';
import { nativeFace } from '../src/simulator/server/native-face.js';
import {
  type SimulatorFace,
  type SimulatorServer,
  startSimulatorServer,
} from '../src/simulator/server/simulator-server.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../src/simulator/simulated-merchant.js';
import { TEST_SECRET } from './support/simulator-server.js';

/**
 * A second protocol face, as the Alipay and WeChat Pay helpers register theirs: its own routes
 * in its own scope (a form parser that must not leak into the native face), its own callback
 * format. Trades it opens must be notified in its format, the native face's in the native one.
 */
const otherFace: SimulatorFace = {
  name: 'other',
  register(app, ctx) {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
      done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    app.post('/other/pay', async (req) => {
      const b = req.body as Record<string, string>;
      const r = await ctx.bank.create({
        outTradeNo: b.no ?? '',
        amount: { amount: Number(b.fen), currency: 'CNY' },
        subject: '',
        method: 'wallet',
        payer: 'p',
        notifyUrl: b.notify ?? '',
      });
      return `status=${r.status}`;
    });
  },
  notifications: {
    format: (e) => ({
      headers: { 'content-type': 'text/plain', 'x-other-signature': 'c2lnbmVk' },
      body: `other:${e.trade.outTradeNo}`,
    }),
  },
};

let sim: SimulatorServer;
let bank: SimulatedGateway;
let receiver: Server;
let cbUrl: string;
const received: RawNotification[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])), body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  cbUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/cb`;
  bank = new SimulatedGateway({ notifySecret: TEST_SECRET, payerActionMethods: ['sim_qr'] });
  sim = await startSimulatorServer({
    bank,
    merchant: new SimulatedMerchant(),
    faces: [nativeFace({ secret: TEST_SECRET }), otherFace],
    notifyRetry: { baseMs: 5, maxMs: 20 },
  });
});
afterAll(async () => {
  await sim.close();
  await new Promise((r) => receiver.close(r));
});

const idle = () => Promise.all([...sim.notifiers.values()].map((n) => n.idle()));

describe('simulator server: faces and callbacks', () => {
  it(
    'each face notifies the trades it opened, in its own protocol; ' + 'native callbacks verify with the adapter',
    async () => {
      const gw = new SimulatorHttpGateway({ name: 's', baseUrl: sim.url, secret: TEST_SECRET, timeoutMs: 2000 });
      received.length = 0;
      await gw.create({
        outTradeNo: 'nat-1',
        amount: { amount: 500, currency: 'CNY' },
        subject: 's',
        method: 'wallet',
        payer: 'p',
        notifyUrl: cbUrl,
      });
      const other = await fetch(`${sim.url}/other/pay`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `no=oth-1&fen=300&notify=${encodeURIComponent(cbUrl)}`,
      });
      expect(await other.text()).toBe('status=succeeded');
      await idle();
      expect(received.map((r) => r.body).filter((b) => b.startsWith('other:'))).toEqual(['other:oth-1']);
      const native = received.filter((r) => !r.body.startsWith('other:'));
      expect(native).toHaveLength(1);
      const v = await gw.verifyNotification(native[0] ?? { headers: {}, body: '' });
      expect(v.ok && v.notification).toMatchObject({
        kind: 'payment',
        outTradeNo: 'nat-1',
        status: 'succeeded',
        amount: { amount: 500, currency: 'CNY' },
      });
      await gw.shutdown();
    },
  );

  it(
    'a QR trade paid through the admin route sends its callback then; ' + 'notify chaos set over HTTP duplicates it',
    async () => {
      const gw = new SimulatorHttpGateway({ name: 's', baseUrl: sim.url, secret: TEST_SECRET, timeoutMs: 2000 });
      received.length = 0;
      await sim.app.inject({ method: 'PUT', url: '/_sim/chaos', payload: { seed: 1, notify: { duplicate_rate: 1 } } });
      expect(
        (
          await gw.create({
            outTradeNo: 'qr-1',
            amount: { amount: 900, currency: 'CNY' },
            subject: 's',
            method: 'sim_qr',
            payer: 'p',
            notifyUrl: cbUrl,
          })
        ).status,
      ).toBe('pending');
      await idle();
      expect(received).toHaveLength(0); // nothing happened yet: the payer has not paid
      const paid = await sim.app.inject({ method: 'POST', url: '/_sim/trades/qr-1/pay' });
      expect(paid.json()).toMatchObject({ out_trade_no: 'qr-1', status: 'succeeded' });
      await idle();
      expect(received).toHaveLength(2);
      const ids = await Promise.all(
        received.map(async (r) => {
          const v = await gw.verifyNotification(r);
          return v.ok ? v.notification.eventId : 'refused';
        }),
      );
      expect(new Set(ids).size).toBe(1); // the same event twice: the receiver de-duplicates on it
      const log = (await sim.app.inject({ method: 'GET', url: '/_sim/notifications' })).json<
        Record<string, Array<{ copy: string; state: string }>>
      >();
      expect(log.native?.slice(-2).map((d) => `${d.copy}/${d.state}`)).toEqual([
        'original/delivered',
        'duplicate/delivered',
      ]);
      await sim.app.inject({ method: 'PUT', url: '/_sim/chaos', payload: {} });
      await gw.shutdown();
    },
  );
});

describe('simulator server: admin routes', () => {
  it('reads and sets the chaos, refusing an invalid document with the path of each problem', async () => {
    const set = await sim.app.inject({
      method: 'PUT',
      url: '/_sim/chaos',
      payload: { error_rate: 0.25, latency: { type: 'fixed', ms: 1 }, decline_rate: 0.5 },
    });
    expect(set.statusCode).toBe(200);
    expect((await sim.app.inject({ method: 'GET', url: '/_sim/chaos' })).json()).toMatchObject({
      error_rate: 0.25,
      latency: { type: 'fixed', ms: 1 },
      decline_rate: 0.5,
    });
    expect(bank.chaos.current.failureRate).toBe(0.5);
    const bad = await sim.app.inject({ method: 'PUT', url: '/_sim/chaos', payload: { error_rate: 'lots', nope: 1 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(JSON.stringify(bad.json())).toContain('error_rate');
    await sim.app.inject({ method: 'PUT', url: '/_sim/chaos', payload: {} });
    expect(bank.chaos.current.failureRate).toBe(0);
  });

  it('plays the payer, tells trades apart, reports ground truth and stats; admin routes see no chaos', async () => {
    await sim.app.inject({ method: 'PUT', url: '/_sim/chaos', payload: { error_rate: 1 } });
    expect((await sim.app.inject({ method: 'GET', url: '/_sim/trades/none' })).statusCode).toBe(404);
    expect((await sim.app.inject({ method: 'POST', url: '/_sim/trades/none/pay' })).json()).toMatchObject({
      code: 'TRADE_NOT_FOUND',
    });
    expect((await sim.app.inject({ method: 'POST', url: '/_sim/trades/nat-1/pay' })).json()).toMatchObject({
      code: 'TRADE_NOT_PENDING',
    });
    const truth = (await sim.app.inject({ method: 'GET', url: '/_sim/ground-truth?prefix=nat-' })).json<{
      captures: number;
      events: unknown[];
    }>();
    expect(truth.captures).toBe(1);
    expect((await sim.app.inject({ method: 'GET', url: '/_sim/trades/nat-1' })).json()).toMatchObject({
      status: 'succeeded',
      amount: 500,
      method: 'wallet',
    });
    const stats = (await sim.app.inject({ method: 'GET', url: '/_sim/stats' })).json<{
      connections: { total: number };
      requests: { total: number };
    }>();
    expect(stats.requests.total).toBeGreaterThan(0);
    expect((await sim.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({
      ok: true,
      faces: ['native', 'other'],
    });
    // ...while a face route gets the 5xx.
    expect((await sim.app.inject({ method: 'GET', url: '/native/v1/payments/x' })).statusCode).toBe(503);
    await sim.app.inject({ method: 'PUT', url: '/_sim/chaos', payload: {} });
  });
});
