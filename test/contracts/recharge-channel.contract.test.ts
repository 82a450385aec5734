import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { JuheRechargeChannel } from '../../src/adapters/recharge/juhe/juhe-channel.js';
import type { Money } from '../../src/domain/money.js';
import type { OperatorId } from '../../src/domain/recharge/number-segments.js';
import { DEFAULT_OPERATOR_SETTINGS, type OperatorSettings } from '../../src/domain/recharge/operator-settings.js';
import type { RechargeCallbackRequest, RechargeChannel } from '../../src/ports/recharge-channel.js';
import { JuheSimulator } from '../../src/simulator/juhe-simulator.js';
import { SimulatedCarriers } from '../../src/simulator/simulated-carriers.js';
import { SimulatedRechargeChannel } from '../../src/simulator/simulated-recharge-channel.js';
import { rechargeChannelContract } from './recharge-channel-contract.js';

/** A balance with fen in it, so a yuan/fen slip in `balance()` cannot pass unseen. */
const OPENING: Money = { amount: 1_234_567, currency: 'CNY' };
const atFaceValue = (face: Money): Money => face;

/** Swap one callback's parameters, keeping a form body that says the same (as a receiver would have got it). */
function withParams(cb: RechargeCallbackRequest, params: Record<string, string>): RechargeCallbackRequest {
  return { ...cb, params, rawBody: new URLSearchParams(params).toString() };
}
function without(params: Readonly<Record<string, string>>, key: string): Record<string, string> {
  const { [key]: _dropped, ...rest } = params;
  return rest;
}

// The in-process simulated channel, on an injected clock: its latency and its client timeout are
// steps of that clock, so a hang "past the timeout" costs no real time. It has no HTTP face: its
// signed callbacks come through the `onCallback` hook.
rechargeChannelContract('simulated channel (in-process)', () => {
  const SECRET = 'contract-callback-secret';
  const carriers = new SimulatedCarriers();
  const delivered: RechargeCallbackRequest[] = [];
  let now = 1_700_000_000_000;
  const channel = new SimulatedRechargeChannel({
    name: 'sim',
    carriers,
    profile: { chaos: {} },
    seed: 1,
    sleep: (ms) => {
      now += ms;
      return Promise.resolve();
    },
    now: () => now,
    onCallback: (cb) => delivered.push(cb),
    callbackSecret: SECRET,
    balance: OPENING.amount,
  });
  const sign = (p: Record<string, string>, secret: string): string =>
    createHmac('sha256', secret).update(`${p.orderId}|${p.channelOrderId}|${p.status}`).digest('hex');
  return Promise.resolve({
    channel,
    groundTruth: () => carriers.groundTruth,
    openingBalance: OPENING,
    price: atFaceValue,
    // Settlements ride on the injected sleep, which resolves at once: one macrotask flushes them.
    idle: () => new Promise<void>((resolve) => setImmediate(resolve)),
    chaos: {
      refuseTopUps: () => channel.chaos.set({ failureRate: 1 }),
      loseAnswers: () => channel.chaos.set({ timeoutRate: 1 }),
      failServer: () => channel.chaos.set({ errorRate: 1 }),
      turnAway: () => channel.setProfile({ capacity: 0 }),
      calm: () => {
        channel.chaos.set({ failureRate: 0, timeoutRate: 0, errorRate: 0 });
        channel.setProfile({ capacity: Number.POSITIVE_INFINITY });
      },
    },
    callbacks: {
      delivery: 'in-process',
      signatureCoversResult: true,
      delivered: (id) => delivered.filter((cb) => cb.params.orderId === id),
      forge: (cb) => ({ ...cb, params: { ...cb.params, sign: sign({ ...cb.params }, 'not-our-secret') } }),
      retarget: (cb, id) => ({ ...cb, params: { ...cb.params, orderId: id } }),
      flipResult: (cb) => ({
        ...cb,
        params: { ...cb.params, status: cb.params.status === 'succeeded' ? 'failed' : 'succeeded' },
      }),
      malformed: (cb) => [
        { params: { ...cb.params, status: 'done' } },
        { params: without(cb.params, 'sign') },
        { params: without(cb.params, 'orderId') },
        { params: without(cb.params, 'channelOrderId') },
      ],
    },
    close: () => Promise.resolve(),
  });
});

/** The adapter's patience for China Mobile numbers: a lost answer costs this much real time. */
const JUHE_SETTINGS: Record<OperatorId, OperatorSettings> = {
  ...DEFAULT_OPERATOR_SETTINGS,
  CHINA_MOBILE: { timeoutMs: 1000, retries: 2, encoding: 'utf-8' },
};
const KEY = 'contract-app-key-0123456789abcdef';
const OPENID = 'JHcontractopenid0123456789';
const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

/**
 * Our callback endpoint in miniature: reads a Juhe callback as the service's route does (query,
 * then form body; lower-case headers; the raw body) and answers with the adapter's own reply, so
 * the simulator re-sends unless that reply is the acknowledgement Juhe expects.
 */
async function callbackReceiver(channel: RechargeChannel) {
  const received: RechargeCallbackRequest[] = [];
  const server = http.createServer((req, res) => {
    let rawBody = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (rawBody += c));
    req.on('end', () => {
      const params: Record<string, string> = {};
      const form = /application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')
        ? new URLSearchParams(rawBody)
        : new URLSearchParams();
      for (const source of [new URLSearchParams(req.url?.split('?')[1] ?? ''), form])
        for (const [k, v] of source) params[k] = v;
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
      const cb: RechargeCallbackRequest = { params, headers, rawBody };
      received.push(cb);
      const r = channel.parseCallback(cb);
      if (r.ok)
        res.writeHead(r.value.reply.status, { 'content-type': r.value.reply.contentType }).end(r.value.reply.body);
      else res.writeHead(400).end(r.error.code);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/recharge-callbacks/juhe`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// The Juhe adapter against the Juhe simulator on its own HTTP server on 127.0.0.1: signed GETs,
// GBK/UTF-8 answers, and results POSTed as forms to a real receiver.
rechargeChannelContract('Juhe adapter ↔ Juhe simulator over HTTP', async () => {
  const carriers = new SimulatedCarriers();
  const sim = new JuheSimulator({ appKey: KEY, openId: OPENID, carriers, seed: 1, balanceFen: OPENING.amount });
  const baseUrl = await sim.start(0, '127.0.0.1');
  const channel = new JuheRechargeChannel({
    name: 'juhe',
    baseUrl,
    apiKey: KEY,
    openId: OPENID,
    operatorSettings: JUHE_SETTINGS,
    clock: { now: () => Date.now() },
  });
  const receiver = await callbackReceiver(channel);
  sim.callbackUrl = receiver.url;
  const calm = (): void => {
    sim.chaos.set({ failureRate: 0, timeoutRate: 0, errorRate: 0 });
    sim.chaos.thaw();
    sim.overQuota = false;
  };
  return {
    channel,
    groundTruth: () => carriers.groundTruth,
    openingBalance: OPENING,
    price: atFaceValue,
    // Every settlement timer and callback delivery of the simulator is tracked: wait for them all.
    idle: () => sim.idle(),
    chaos: {
      refuseTopUps: () => sim.chaos.set({ failureRate: 1 }),
      // Accept, then hold the answer until `calm`: the adapter's own timeout is what ends the call.
      loseAnswers: () => {
        sim.chaos.set({ timeoutRate: 1 });
        sim.chaos.freeze(Number.MAX_SAFE_INTEGER);
      },
      failServer: () => sim.chaos.set({ errorRate: 1 }),
      turnAway: () => {
        sim.overQuota = true;
      },
      calm,
    },
    callbacks: {
      delivery: 'http',
      signatureCoversResult: false,
      delivered: (id) => receiver.received.filter((cb) => cb.params.orderid === id),
      forge: (cb) =>
        withParams(cb, {
          ...cb.params,
          sign: md5(`not-our-key${String(cb.params.sporder_id)}${String(cb.params.orderid)}`),
        }),
      retarget: (cb, id) => withParams(cb, { ...cb.params, orderid: id }),
      flipResult: (cb) => withParams(cb, { ...cb.params, sta: cb.params.sta === '1' ? '9' : '1' }),
      malformed: (cb) => [
        withParams(cb, { ...cb.params, sta: '5' }),
        withParams(cb, without(cb.params, 'sign')),
        withParams(cb, without(cb.params, 'orderid')),
        withParams(cb, without(cb.params, 'sporder_id')),
      ],
    },
    close: async () => {
      calm();
      await sim.stop();
      channel.close();
      await receiver.close();
    },
  };
});
