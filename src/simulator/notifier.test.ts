import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { forgeSignature, Notifier, type NotifierOptions } from './notifier.js';
import { SimulatedGateway } from './simulated-gateway.js';

interface Received {
  readonly eventId: string;
  readonly outTradeNo: string;
  readonly genuine: boolean;
  readonly status: number;
}

/** A merchant endpoint that verifies each callback with the bank's own verifier. */
async function receiver(
  bank: SimulatedGateway,
  answer: (n: number) => number = () => 200,
): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]),
      );
      void bank.verifyNotification({ headers, body }).then((v) => {
        const status = v.ok ? answer(++n) : 401;
        const parsed = JSON.parse(body.trim()) as { id: string; out_trade_no: string };
        got.push({ eventId: parsed.id, outTradeNo: parsed.out_trade_no, genuine: v.ok, status });
        res.writeHead(status).end();
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`, got, server };
}

const servers: Server[] = [];
const notifiers: Notifier[] = [];
afterEach(async () => {
  for (const n of notifiers.splice(0)) n.close();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function setup(opts: Partial<NotifierOptions> = {}, answer?: (n: number) => number) {
  const bank = new SimulatedGateway({ notifySecret: 'notify-secret' });
  const r = await receiver(bank, answer);
  servers.push(r.server);
  const notifier = new Notifier({
    source: bank,
    format: (e) => bank.notificationFor(e, Math.floor(Date.now() / 1000)),
    retry: { baseMs: 5, maxMs: 20, maxAttempts: 5 },
    ...opts,
  });
  notifiers.push(notifier);
  const pay = (outTradeNo: string) =>
    bank.create({
      outTradeNo,
      amount: { amount: 100, currency: 'CNY' },
      subject: 's',
      method: 'wallet',
      payer: 'p',
      notifyUrl: r.url,
    });
  return { bank, notifier, got: r.got, pay };
}

describe('Notifier', () => {
  it('delivers each event once when there is no chaos', async () => {
    const { notifier, got, pay } = await setup();
    for (let i = 0; i < 5; i++) await pay(`T${i}`);
    await notifier.idle();
    expect(got.map((g) => g.outTradeNo).sort()).toEqual(['T0', 'T1', 'T2', 'T3', 'T4']);
    expect(got.every((g) => g.genuine)).toBe(true);
    expect(notifier.deliveries.every((d) => d.state === 'delivered' && d.attempts === 1)).toBe(true);
  });

  it('retries with backoff until the receiver answers 2xx', async () => {
    const { notifier, got, pay } = await setup({}, (n) => (n <= 2 ? 503 : 200));
    await pay('R1');
    await notifier.idle();
    expect(got.map((g) => g.status)).toEqual([503, 503, 200]);
    expect(notifier.deliveries[0]).toMatchObject({ state: 'delivered', attempts: 3, statuses: [503, 503, 200] });
  });

  it('gives up after the last attempt', async () => {
    const { notifier, pay } = await setup({ retry: { baseMs: 1, maxMs: 2, maxAttempts: 3 } }, () => 500);
    await pay('G1');
    await notifier.idle();
    expect(notifier.deliveries[0]).toMatchObject({ state: 'gave_up', attempts: 3 });
  });

  it(
    'under seeded chaos: duplicates arrive twice, lost ones never, forged ones fail verification — ' +
      'and the same seed replays the same run',
    async () => {
      const run = async () => {
        const chaos = {
          duplicateRate: 0.3,
          lostRate: 0.2,
          wrongSignatureRate: 0.3,
          outOfOrderRate: 0.2,
          outOfOrderDelayMs: 30,
        };
        const { notifier, got, pay } = await setup({ chaos, seed: 99 });
        for (let i = 0; i < 40; i++) await pay(`C${String(i).padStart(2, '0')}`);
        await notifier.idle();
        return { notifier, got };
      };
      const { notifier, got } = await run();
      const d = notifier.deliveries;
      const lost = new Set(d.filter((x) => x.state === 'lost').map((x) => x.eventKey.split(':')[1]));
      const duplicated = new Set(d.filter((x) => x.copy === 'duplicate').map((x) => x.eventKey.split(':')[1]));
      const forged = new Set(d.filter((x) => x.copy === 'forged').map((x) => x.eventKey.split(':')[1]));
      expect(lost.size).toBeGreaterThan(0);
      expect(duplicated.size).toBeGreaterThan(0);
      expect(forged.size).toBeGreaterThan(0);
      expect(d.some((x) => x.delayed)).toBe(true);
      for (let i = 0; i < 40; i++) {
        const t = `C${String(i).padStart(2, '0')}`;
        const genuine = got.filter((g) => g.outTradeNo === t && g.genuine).length;
        const refused = got.filter((g) => g.outTradeNo === t && !g.genuine).length;
        expect(genuine).toBe(lost.has(t) ? 0 : duplicated.has(t) ? 2 : 1);
        expect(refused).toBe(forged.has(t) ? 1 : 0);
      }
      expect(d.filter((x) => x.copy === 'forged').every((x) => x.state === 'refused' && x.statuses[0] === 401)).toBe(
        true,
      );
      // Same seed, same decisions.
      const again = await run();
      const summary = (ds: typeof d) => ds.map((x) => `${x.eventKey}/${x.copy}/${x.state}/${x.delayed}`).sort();
      expect(summary(again.notifier.deliveries)).toEqual(summary(d));
    },
  );

  it('out-of-order: a held-back callback arrives after a later one', async () => {
    const { notifier, got, pay } = await setup();
    notifier.setChaos({ outOfOrderRate: 1, outOfOrderDelayMs: 80 });
    await pay('FIRST');
    notifier.setChaos({});
    await pay('SECOND');
    await notifier.idle();
    expect(got.map((g) => g.outTradeNo)).toEqual(['SECOND', 'FIRST']);
  });

  it('sends nothing for events it does not accept or without a notify URL', async () => {
    const bank = new SimulatedGateway();
    const posted: string[] = [];
    const notifier = new Notifier({
      source: bank,
      format: (e) => bank.notificationFor(e, 1),
      accepts: (e) => e.trade.method === 'wallet',
      post: (url) => {
        posted.push(url);
        return Promise.resolve(200);
      },
    });
    notifiers.push(notifier);
    await bank.create({
      outTradeNo: 'A',
      amount: { amount: 1, currency: 'CNY' },
      subject: '',
      method: 'alipay_qr',
      payer: 'p',
      notifyUrl: 'http://x/cb',
    });
    await bank.create({
      outTradeNo: 'B',
      amount: { amount: 1, currency: 'CNY' },
      subject: '',
      method: 'wallet',
      payer: 'p',
    });
    await bank.create({
      outTradeNo: 'C',
      amount: { amount: 1, currency: 'CNY' },
      subject: '',
      method: 'wallet',
      payer: 'p',
      notifyUrl: 'http://x/cb',
    });
    await notifier.idle();
    expect(posted).toEqual(['http://x/cb']);
  });
});

describe('forgeSignature', () => {
  it('corrupts signature headers, else an Alipay-style sign field, else the body', () => {
    expect(forgeSignature({ headers: { 'x-sim-signature': 'Zm9v', a: 'b' }, body: 'x' })).toEqual({
      headers: { 'x-sim-signature': 'Am9v', a: 'b' },
      body: 'x',
    });
    expect(forgeSignature({ headers: {}, body: 'a=1&sign=Abc&b=2' }).body).toBe('a=1&sign=Bbc&b=2');
    expect(forgeSignature({ headers: {}, body: '{"a":1}' }).body).not.toBe('{"a":1}');
  });
});
