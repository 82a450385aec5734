import { systemClock } from '../src/adapters/system/system-clock.js';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Money } from '../src/domain/money.js';
import { err, ok, type Result } from '../src/domain/result.js';
import type { App } from '../src/composition/create-app.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import {
  type RechargeCallback,
  type RechargeCallbackRequest,
  type RechargeChannel,
  type RechargeChannelResult,
  type RechargeCheckResult,
  type RechargeQueryRequest,
  type RechargeSubmitRequest,
  RechargeUnknownOutcomeError,
} from '../src/ports/recharge-channel.js';
import { ADMIN, adminKeyOf, auditOf, type LogSink, startTestApp } from './support/test-app.js';
import { ENGINES } from './support/cluster.js';
import { runCliCaptured } from './support/cli-run.js';
import { createTestDatabase } from './support/pg-db.js';

const PHONE = '13800138000';
const ALL = ['CHINA_MOBILE', 'CHINA_UNICOM', 'CHINA_TELECOM', 'CHINA_BROADNET', 'VIRTUAL'];
const SECRET = 'scripted-callback-secret-0123456789';
const MIN = 60_000;
const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

type Answer = RechargeChannelResult['status'] | 'unknown';

/**
 * A channel whose answers the test sets: what `submit` and `query` say, per order id or for all.
 * Its callbacks are signed like Juhe's (md5(secret + sporder_id + orderid)).
 */
class ScriptedChannel implements RechargeChannel {
  submitAnswer: Answer = 'processing';
  queryAnswer: Answer = 'processing';
  readonly queryFor = new Map<string, Answer>();
  readonly submitted: string[] = [];
  queries = 0;
  /** Say, like Juhe, that the signature does not cover the result (the receiver must confirm by query). */
  unsignedResult = false;

  constructor(readonly name: string) {}

  private answer(orderId: string, a: Answer): RechargeChannelResult {
    if (a === 'unknown') throw new RechargeUnknownOutcomeError(`${this.name}: no answer`);
    return {
      status: a,
      orderId,
      channelOrderId: `S-${orderId}`,
      ...(a === 'failed' ? { failureCode: 'SCRIPTED_FAIL', final: false } : {}),
    };
  }

  submit(req: RechargeSubmitRequest): Promise<RechargeChannelResult> {
    this.submitted.push(req.orderId);
    return Promise.resolve().then(() => this.answer(req.orderId, this.submitAnswer));
  }

  /** While set, a query waits for it before it answers (with the answer set by then): one held in flight. */
  hold: Promise<void> | undefined;

  query(req: RechargeQueryRequest): Promise<RechargeChannelResult> {
    this.queries += 1;
    return (this.hold ?? Promise.resolve()).then(() =>
      this.answer(req.orderId, this.queryFor.get(req.orderId) ?? this.queryAnswer),
    );
  }

  check(): Promise<RechargeCheckResult> {
    return Promise.resolve({ rechargeable: true });
  }

  balance(): Promise<Money> {
    return Promise.resolve({ amount: 1_000_000, currency: 'CNY' });
  }

  parseCallback(req: RechargeCallbackRequest): Result<RechargeCallback> {
    const { sporder_id: so, orderid, sta, sign } = req.params;
    if (so === undefined || orderid === undefined || sign === undefined || (sta !== '1' && sta !== '9'))
      return err('CALLBACK_INVALID', 'missing fields');
    if (sign !== md5(SECRET + so + orderid)) return err('CALLBACK_SIGNATURE_INVALID', 'bad signature');
    return ok({
      orderId: orderid,
      channelOrderId: so,
      status: sta === '1' ? 'succeeded' : 'failed',
      ...(this.unsignedResult ? { confirmByQuery: true } : {}),
      reply: { status: 200, contentType: 'text/plain; charset=utf-8', body: 'success' },
    });
  }
}

/** Time is injected: tests move it forward instead of waiting. */
class TestClock {
  offset = 0;
  now = (): number => Date.now() + this.offset;
  schedule = systemClock.schedule;
}

const apps: App[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close().catch(() => undefined);
});

async function start(
  channel: ScriptedChannel,
  extra: Record<string, unknown> = {},
  options: Parameters<typeof startTestApp>[1] = {},
): Promise<{ app: App; clock: TestClock; logs: LogSink }> {
  const clock = new TestClock();
  const { app, logs } = await startTestApp(
    {
      // One try per job: whatever the job cannot finish stays stuck, for callbacks and rules.
      worker: { poll_interval_ms: 10, max_attempts: 1, retry_base_ms: 5, retry_max_ms: 10 },
      rules: { sweep_interval_ms: 3_600_000 },
      server: { port: 0, wait_for_completion_ms: 2000 },
      recharge: {
        poll_interval_ms: 10,
        processing_deadline_ms: 1000,
        max_attempts: 1,
        operators: { CHINA_MOBILE: { timeout_ms: 150, retries: 1 } },
        channels: { [channel.name]: { type: 'simulator', operators: ALL } },
      },
      ...extra,
    },
    { clock, rechargeChannels: new Map([[channel.name, channel]]), ...options },
  );
  apps.push(app);
  await app.http.ready();
  app.start();
  return { app, clock, logs };
}

const headers = (user: string): Record<string, string> => ({ 'content-type': 'application/json', 'x-user-id': user });

async function fund(app: App, user: string, amount: number): Promise<void> {
  const res = await app.http.inject({
    method: 'POST',
    url: '/api/v1/wallet/top-ups',
    headers: { ...headers(user), 'idempotency-key': `tu-${user}-${amount}` },
    payload: { amount },
  });
  expect(res.statusCode, res.body).toBe(201);
}

interface View {
  id: string;
  status: string;
  attempts: Array<{ order_id: string; channel: string }>;
}

async function rechargeOnce(app: App, user: string, amount = 5000): Promise<View> {
  const res = await app.http.inject({
    method: 'POST',
    url: '/api/v1/recharges',
    headers: headers(user),
    payload: { phone: PHONE, amount },
  });
  expect([201, 202, 422]).toContain(res.statusCode);
  return res.json<{ recharge: View }>().recharge;
}

async function view(app: App, id: string): Promise<View> {
  const r = await app.services.recharge.get(ADMIN, id);
  if (!r.ok) throw new Error(r.error.message);
  return r.value as unknown as View;
}

/** Wait until the recharge's job has finished (done or failed) — polling, not timing. */
async function jobIdle(app: App, id: string): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    if (!(await app.storage.unitOfWork.read.jobs.hasLive('recharge.execute', id))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('job still live');
}

async function until(app: App, id: string, done: (s: string) => boolean): Promise<string> {
  let s = '';
  for (let i = 0; i < 300; i += 1) {
    s = (await view(app, id)).status;
    if (done(s)) return s;
    await new Promise((r) => setTimeout(r, 20));
  }
  return s;
}

function callback(
  app: App,
  channel: string,
  orderId: string,
  sta: '1' | '9',
  options: { sign?: string; query?: boolean } = {},
) {
  const params = new URLSearchParams({
    sporder_id: `S-${orderId}`,
    orderid: orderId,
    sta,
    sign: options.sign ?? md5(SECRET + `S-${orderId}` + orderId),
    err_msg: '',
  });
  return options.query === true
    ? app.http.inject({ method: 'POST', url: `/api/v1/recharge-callbacks/${channel}?${params.toString()}` })
    : app.http.inject({
        method: 'POST',
        url: `/api/v1/recharge-callbacks/${channel}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: params.toString(),
      });
}

async function balances(app: App): Promise<{ balanced: boolean; of: (account: string) => number }> {
  const res = await app.http.inject({ method: 'GET', url: '/api/v1/ledger/balances' });
  const l = res.json<{ balanced: boolean; data: Array<{ account: string; balance: number }> }>();
  return { balanced: l.balanced, of: (a) => l.data.find((d) => d.account === a)?.balance ?? 0 };
}

async function wallet(app: App, user: string): Promise<number> {
  const res = await app.http.inject({ method: 'GET', url: '/api/v1/wallet', headers: { 'x-user-id': user } });
  return res.json<{ wallet: { balance: number } }>().wallet.balance;
}

interface Flag {
  id: string;
  code: string;
  resource_id: string;
  detail: Record<string, unknown>;
}

async function flags(app: App): Promise<Flag[]> {
  const res = await app.http.inject({ method: 'GET', url: '/api/v1/review-flags' });
  return res.json<{ data: Flag[] }>().data;
}

async function actions(app: App, id: string): Promise<string[]> {
  return (await auditOf(app, 'recharge', id)).map((a) => a.action);
}

const attemptKeyOf = (v: View): string => v.attempts.at(-1)?.order_id ?? '';

/** A funded user's 50-yuan recharge whose job ran its one try and stopped. */
async function afterJob(ch: ScriptedChannel, user: string, funds = 10_000, extra: Record<string, unknown> = {}) {
  const started = await start(ch, extra);
  await fund(started.app, user, funds);
  const r = await rechargeOnce(started.app, user);
  await jobIdle(started.app, r.id);
  return { ...started, r, key: attemptKeyOf(await view(started.app, r.id)) };
}

/** Wait until the recharge's audit trail shows `action` (a rule run finished). */
async function untilAction(app: App, id: string, action: string): Promise<void> {
  for (let i = 0; i < 150 && !(await actions(app, id)).includes(action); i += 1)
    await new Promise((res) => setTimeout(res, 20));
}

describe('recharge channel callbacks over HTTP', () => {
  it(
    'a signed success settles the open attempt once; duplicates are acknowledged; ' +
      'forged and unknown ones change nothing',
    async () => {
      const ch = new ScriptedChannel('scripted');
      const { app, r, logs, key } = await afterJob(ch, 'ann');
      expect((await view(app, r.id)).status).toBe('PROCESSING');

      const forged = await callback(app, 'scripted', key, '1', { sign: md5('wrong' + key) });
      expect(forged.statusCode).toBe(401);
      expect(forged.json<{ code: string }>().code).toBe('CALLBACK_SIGNATURE_INVALID');
      expect((await view(app, r.id)).status).toBe('PROCESSING');
      const unknownChannel = await callback(app, 'nope', key, '1');
      expect([unknownChannel.statusCode, unknownChannel.json<{ code: string }>().code]).toEqual([
        404,
        'RECHARGE_CHANNEL_NOT_CONFIGURED',
      ]);
      const unknownOrder = await callback(app, 'scripted', 'rchNOSUCHORDER0000000000000A1', '1');
      expect([unknownOrder.statusCode, unknownOrder.json<{ code: string }>().code]).toEqual([
        404,
        'CALLBACK_UNKNOWN_RECHARGE',
      ]);

      const first = await callback(app, 'scripted', key, '1');
      expect([first.statusCode, first.body, first.headers['x-callback-effect']]).toEqual([200, 'success', 'applied']);
      const dup = await callback(app, 'scripted', key, '1', { query: true });
      expect([dup.statusCode, dup.body, dup.headers['x-callback-effect']]).toEqual([200, 'success', 'duplicate']);
      // A failure about the attempt that delivered never moves it back: acknowledged, flagged for a person.
      const contradiction = await callback(app, 'scripted', key, '9');
      expect([contradiction.statusCode, contradiction.headers['x-callback-effect']]).toEqual([200, 'flagged']);

      expect((await view(app, r.id)).status).toBe('SUCCEEDED');
      expect((await actions(app, r.id)).filter((a) => a === 'recharge.succeeded')).toHaveLength(1);
      const l = await balances(app);
      expect(l.balanced).toBe(true);
      expect(l.of('recharge_clearing:default')).toBe(0);
      expect(l.of('carrier:scripted')).toBe(-5000);
      expect(await wallet(app, 'ann')).toBe(5000);
      // (Its job had given up while the channel said "processing": flagged unresolved before the
      // callback came, and resolved by it; the contradiction stays open for a person.)
      expect((await flags(app)).map((f) => f.code)).toEqual(['RECHARGE_REVERSED']);
      // The refusal is logged with its code, never with the number or the signature.
      expect(logs.text).toContain('CALLBACK_SIGNATURE_INVALID');
      expect(logs.text).not.toContain(PHONE);
      expect(logs.text).not.toContain(md5('wrong' + key));
    },
  );

  it('a failure of the open attempt settles it FAILED (money back to the wallet) exactly once', async () => {
    const ch = new ScriptedChannel('scripted');
    const { app, r, key } = await afterJob(ch, 'bea');
    const answers = await Promise.all([
      callback(app, 'scripted', key, '9'),
      callback(app, 'scripted', key, '9'),
      callback(app, 'scripted', key, '9'),
    ]);
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
    expect(answers.map((a) => a.headers['x-callback-effect']).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    expect((await view(app, r.id)).status).toBe('FAILED');
    expect(await wallet(app, 'bea')).toBe(10_000);
    const l = await balances(app);
    expect([l.balanced, l.of('recharge_clearing:default'), l.of('wallet:bea')]).toEqual([true, 0, -10_000]);
  });

  it(
    'SUCCESS for a recharge recorded FAILED: corrected to SUCCEEDED, ' +
      'the money taken back from the wallet, flagged',
    async () => {
      const ch = new ScriptedChannel('scripted');
      ch.submitAnswer = 'failed';
      const { app, r, key } = await afterJob(ch, 'cai');
      expect((await view(app, r.id)).status).toBe('FAILED');
      expect(await wallet(app, 'cai')).toBe(10_000);

      const late = await callback(app, 'scripted', key, '1');
      expect([late.statusCode, late.body, late.headers['x-callback-effect']]).toEqual([200, 'success', 'corrected']);
      expect((await callback(app, 'scripted', key, '1')).headers['x-callback-effect']).toBe('duplicate');
      expect((await view(app, r.id)).status).toBe('SUCCEEDED');
      expect(await wallet(app, 'cai')).toBe(5000);
      const l = await balances(app);
      expect([l.balanced, l.of('recharge_clearing:default'), l.of('carrier:scripted'), l.of('wallet:cai')]).toEqual([
        true,
        0,
        -5000,
        -5000,
      ]);
      const f = await flags(app);
      expect(f.map((x) => [x.code, x.resource_id])).toEqual([['RECHARGE_STATUS_CORRECTED', r.id]]);
      expect(f[0]?.detail).toMatchObject({
        recorded: 'FAILED',
        channel_says: 'succeeded',
        wallet_covered: true,
        amount: 5000,
      });
      expect(await actions(app, r.id)).toEqual(
        expect.arrayContaining(['recharge.failed', 'recharge.corrected', 'flag.recharge_status_corrected']),
      );
    },
  );

  it(
    '…and when the wallet was spent meanwhile, the amount is booked as the user’s receivable, ' + 'never an overdraft',
    async () => {
      const ch = new ScriptedChannel('scripted');
      ch.submitAnswer = 'failed';
      const { app, r, key } = await afterJob(ch, 'dan', 5000);
      expect((await view(app, r.id)).status).toBe('FAILED');
      // Spend the returned money on another recharge that succeeds.
      ch.submitAnswer = 'succeeded';
      const spent = await rechargeOnce(app, 'dan');
      expect(await until(app, spent.id, (s) => s === 'SUCCEEDED')).toBe('SUCCEEDED');
      expect(await wallet(app, 'dan')).toBe(0);
      expect((await callback(app, 'scripted', key, '1')).headers['x-callback-effect']).toBe('corrected');
      expect(await wallet(app, 'dan')).toBe(0);
      const l = await balances(app);
      expect([l.balanced, l.of('recharge_clearing:default'), l.of('receivable:dan'), l.of('carrier:scripted')]).toEqual(
        [true, 0, 5000, -10_000],
      );
      expect((await flags(app))[0]?.detail).toMatchObject({ wallet_covered: false });
    },
  );

  it(
    '…and a recharge paid directly whose payment was refunded: the user owes it (receivable), ' +
      'the wallet is never touched',
    async () => {
      const ch = new ScriptedChannel('scripted');
      ch.submitAnswer = 'failed';
      const { app } = await start(ch);
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/v1/recharges',
        headers: headers('eve'),
        payload: { phone: PHONE, amount: 5000, pay: 'direct' },
      });
      const r = res.json<{ recharge: View & { top_up_id: string } }>().recharge;
      await jobIdle(app, r.id);
      expect((await view(app, r.id)).status).toBe('FAILED');
      // The payment is refunded by its own job.
      for (let i = 0; i < 150 && (await balances(app)).of('refunds_due:default') !== 0; i += 1)
        await new Promise((res) => setTimeout(res, 20));
      expect((await balances(app)).of('refunds_due:default')).toBe(0);

      expect(
        (await callback(app, 'scripted', attemptKeyOf(await view(app, r.id)), '1')).headers['x-callback-effect'],
      ).toBe('corrected');
      expect((await view(app, r.id)).status).toBe('SUCCEEDED');
      expect(await wallet(app, 'eve')).toBe(0);
      const l = await balances(app);
      expect([
        l.balanced,
        l.of('recharge_clearing:default'),
        l.of('receivable:eve'),
        l.of('carrier:scripted'),
        l.of('wallet:eve'),
      ]).toEqual([true, 0, 5000, -5000, 0]);
      expect((await flags(app))[0]?.detail).toMatchObject({ wallet_covered: false });
    },
  );

  it(
    'a result the signature does not cover is confirmed by query: ' +
      'no answer yet → 503 CALLBACK_UNCONFIRMED (re-send later); the query wins over the claim',
    async () => {
      const ch = new ScriptedChannel('scripted');
      ch.unsignedResult = true;
      const { app, r, key } = await afterJob(ch, 'kim');
      const early = await callback(app, 'scripted', key, '1');
      expect([early.statusCode, early.json<{ code: string }>().code]).toEqual([503, 'CALLBACK_UNCONFIRMED']);
      expect((await view(app, r.id)).status).toBe('PROCESSING');
      // A replayed callback with its result flipped to success: the channel says it failed.
      ch.queryAnswer = 'failed';
      const flipped = await callback(app, 'scripted', key, '1');
      expect([flipped.statusCode, flipped.body, flipped.headers['x-callback-effect']]).toEqual([
        200,
        'success',
        'applied',
      ]);
      expect((await view(app, r.id)).status).toBe('FAILED');
      expect(await wallet(app, 'kim')).toBe(10_000);
      expect((await balances(app)).of('carrier:scripted')).toBe(0);
    },
  );

  it(
    'a job still polling when the callback settles does not apply it twice (version check, ' + 'then hand-over)',
    async () => {
      const ch = new ScriptedChannel('scripted');
      const { app } = await start(ch, {
        recharge: {
          poll_interval_ms: 150,
          processing_deadline_ms: 5000,
          max_attempts: 1,
          operators: { CHINA_MOBILE: { timeout_ms: 150, retries: 1 } },
          channels: { scripted: { type: 'simulator', operators: ALL } },
        },
        // The answer need not wait for the job, which polls until the test lets it end; nothing below
        // depends on when the answer comes (the test waits for PROCESSING itself).
        server: { port: 0, wait_for_completion_ms: 50 },
      });
      await fund(app, 'eve', 10_000);
      const r = await rechargeOnce(app, 'eve');
      const key = attemptKeyOf(await until(app, r.id, (s) => s === 'PROCESSING').then(() => view(app, r.id)));
      // The job's next query is held in flight (not a timing coincidence): the callback settles the
      // recharge meanwhile, then the held query answers success too, to a job whose state is stale.
      let release!: () => void;
      ch.hold = new Promise<void>((r) => (release = r));
      const asked = ch.queries;
      for (let i = 0; i < 500 && ch.queries === asked; i += 1) await new Promise((r) => setTimeout(r, 10));
      expect(ch.queries).toBeGreaterThan(asked);
      ch.queryAnswer = 'succeeded';
      expect((await callback(app, 'scripted', key, '1')).headers['x-callback-effect']).toBe('applied');
      ch.hold = undefined;
      release();
      await jobIdle(app, r.id);
      expect((await view(app, r.id)).status).toBe('SUCCEEDED');
      expect((await actions(app, r.id)).filter((a) => a === 'recharge.succeeded')).toHaveLength(1);
      const l = await balances(app);
      expect([l.balanced, l.of('carrier:scripted'), l.of('recharge_clearing:default')]).toEqual([true, -5000, 0]);
    },
  );
});

describe('recharges nobody could settle', () => {
  it(
    'still UNKNOWN after the job gives up: money kept in clearing, one review flag naming it, ' +
      'shown by GET /review-flags until an answer settles it',
    async () => {
      const ch = new ScriptedChannel('scripted');
      ch.submitAnswer = 'unknown';
      ch.queryAnswer = 'unknown';
      const { app, r } = await afterJob(ch, 'fay');
      expect((await view(app, r.id)).status).toBe('UNKNOWN');
      const l = await balances(app);
      expect([l.balanced, l.of('recharge_clearing:default'), await wallet(app, 'fay')]).toEqual([true, -5000, 5000]);
      const f = await flags(app);
      expect(f.map((x) => [x.code, x.resource_id])).toEqual([['RECHARGE_UNRESOLVED', r.id]]);
      expect(f[0]?.detail).toMatchObject({
        status: 'UNKNOWN',
        money_in: 'recharge_clearing',
        found_by: 'recharge.execute',
        amount: 5000,
      });
      expect(JSON.stringify(f)).not.toContain(PHONE);

      // The channel answers at last: the recharge settles and its flag is resolved with it.
      expect(
        (await callback(app, 'scripted', attemptKeyOf(await view(app, r.id)), '1')).headers['x-callback-effect'],
      ).toBe('applied');
      expect((await view(app, r.id)).status).toBe('SUCCEEDED');
      expect(await flags(app)).toEqual([]);
      const all = (await app.http.inject({ method: 'GET', url: '/api/v1/review-flags?open=false' })).json<{
        data: Array<{ code: string; resolved_at: string | null }>;
      }>().data;
      expect(all.map((x) => [x.code, x.resolved_at !== null])).toEqual([['RECHARGE_UNRESOLVED', true]]);
      expect(await actions(app, r.id)).toContain('flag.resolved');
    },
  );
});

describe.each(ENGINES)('the review-flag action settle_from_channel, over HTTP and the CLI, on %s', (engine) => {
  it('an operator settles unresolved recharges from what the channel says now; their flags are resolved', async () => {
    const db = engine === 'postgres' ? await createTestDatabase('settlech') : undefined;
    try {
      const ch = new ScriptedChannel('scripted');
      ch.submitAnswer = 'unknown';
      ch.queryAnswer = 'unknown';
      const { app, r } = await afterJob(ch, 'gus', 20_000, db === undefined ? {} : { database: { url: db.url } });
      const second = await rechargeOnce(app, 'gus');
      await jobIdle(app, second.id);
      const open = await flags(app);
      const flagOf = (id: string): Flag | undefined => open.find((f) => f.resource_id === id);
      expect(open.map((f) => f.code)).toEqual(['RECHARGE_UNRESOLVED', 'RECHARGE_UNRESOLVED']);
      // The channel knows now: the operator asks it through the flag's action, over HTTP…
      ch.queryAnswer = 'succeeded';
      const acted = await app.http.inject({
        method: 'POST',
        url: `/api/v1/review-flags/${String(flagOf(r.id)?.id)}/actions`,
        payload: { action: 'settle_from_channel', note: 'channel support says it went through' },
      });
      expect(acted.statusCode, acted.body).toBe(200);
      expect((await view(app, r.id)).status).toBe('SUCCEEDED');
      // …and through the CLI, for the other.
      const url = await app.listen();
      const cli = (...args: string[]) => runCliCaptured(args, { defaultUrl: url, apiKey: adminKeyOf(app) });
      const byCli = await cli('flags', 'act', String(flagOf(second.id)?.id), 'settle_from_channel', '--note', 'asked');
      expect(byCli.code, byCli.err.join('\n')).toBe(0);
      expect((await view(app, second.id)).status).toBe('SUCCEEDED');
      // Done once: the flag is resolved, so acting on it again is refused with a clear code.
      const again = await cli('flags', 'act', String(flagOf(second.id)?.id), 'settle_from_channel');
      expect(again.code).not.toBe(0);
      expect(again.err.join('\n')).toMatch(/FLAG_ALREADY_RESOLVED/);
      expect(await flags(app)).toEqual([]);
      const l = await balances(app);
      expect([l.balanced, l.of('recharge_clearing:default'), l.of('carrier:scripted')]).toEqual([true, 0, -10_000]);
      expect(await actions(app, r.id)).toContain('flag.resolved');
      expect(await actions(app, second.id)).toContain('flag.resolved');
    } finally {
      for (const a of apps.splice(0)) await a.close().catch(() => undefined);
      await db?.drop();
    }
  });
});

describe('recharge repair rules (time injected)', () => {
  it(
    'settle-unknown-recharge: past its deadline with no live job, ' + 'the channel is asked and the answer settles it',
    async () => {
      const ch = new ScriptedChannel('scripted');
      const { app, r, clock } = await afterJob(ch, 'gus');
      expect((await view(app, r.id)).status).toBe('PROCESSING');
      ch.queryAnswer = 'succeeded';
      clock.offset = 29 * MIN;
      expect(await app.services.rules.sweep()).toBe(0);
      clock.offset = 31 * MIN;
      expect(await app.services.rules.sweep()).toBe(1);
      expect(await until(app, r.id, (s) => s === 'SUCCEEDED')).toBe('SUCCEEDED');
      expect(await actions(app, r.id)).toEqual(
        expect.arrayContaining(['recharge.succeeded', 'rule.settle-unknown-recharge']),
      );
      const l = await balances(app);
      expect([l.balanced, l.of('recharge_clearing:default'), l.of('carrier:scripted')]).toEqual([true, 0, -5000]);
      // Settled: nothing more to sweep, and the failed-recheck rule has nothing to look at.
      expect(await app.services.rules.sweep()).toBe(0);
    },
  );

  it(
    'settle-unknown-recharge: a recharge paid directly whose payment never completed is never dispatched — ' +
      'flagged, nothing moves; the flag offers to close the trade, which fails it',
    async () => {
      const ch = new ScriptedChannel('scripted');
      ch.submitAnswer = 'succeeded';
      // The payer must act (scan a code) and never does: the payment stays pending. The unpaid
      // expiry is set later than the rule here, so that the rule is what finds it.
      const gateway = new SimulatedGateway({ payerActionMethods: ['wallet'] });
      const { app, clock } = await start(ch, { orders: { unpaid_timeout_seconds: 7200 } }, { gateway });
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/v1/recharges',
        headers: headers('ian'),
        payload: { phone: PHONE, amount: 5000, pay: 'direct' },
      });
      expect(res.statusCode, res.body).toBe(202);
      const r = res.json<{ recharge: View & { top_up_id: string } }>().recharge;
      expect(r.status).toBe('CREATED');
      clock.offset = 31 * MIN;
      expect(await app.services.rules.sweep()).toBe(1);
      await untilAction(app, r.id, 'rule.settle-unknown-recharge');
      expect(ch.submitted).toEqual([]);
      expect((await view(app, r.id)).status).toBe('CREATED');
      expect(await app.storage.unitOfWork.read.jobs.hasLive('recharge.execute', r.id)).toBe(false);
      const f = await flags(app);
      expect(f.map((x) => [x.code, x.resource_id])).toEqual([['RECHARGE_UNRESOLVED', r.id]]);
      expect(f[0]?.detail).toMatchObject({
        channel_says: 'awaiting its own payment',
        money_in: 'none unless its payment was captured',
      });
      let l = await balances(app);
      expect([l.balanced, l.of('recharge_clearing:default'), l.of('carrier:scripted')]).toEqual([true, 0, 0]);

      // The operator closes the trade from the flag: the payer can no longer pay, the recharge fails.
      const flagId = f[0]?.id ?? '';
      const shown = await app.http.inject({ url: `/api/v1/review-flags/${flagId}` });
      expect(shown.json<{ flag: { actions: string[] } }>().flag.actions).toEqual(['close_trade']);
      const acted = await app.http.inject({
        method: 'POST',
        url: `/api/v1/review-flags/${flagId}/actions`,
        headers: { 'content-type': 'application/json' },
        payload: { action: 'close_trade', note: 'the payer left the shop' },
      });
      expect(acted.statusCode, acted.body).toBe(200);
      expect(await until(app, r.id, (s) => s === 'FAILED')).toBe('FAILED');
      const payment = await app.storage.unitOfWork.read.topUps.get('default', r.top_up_id);
      expect(payment).toMatchObject({ status: 'FAILED', failureCode: 'UNPAID_TIMEOUT' });
      expect(gateway.payPending(payment?.outTradeNo ?? '')).toBe(false);
      expect(await flags(app)).toEqual([]);
      expect(ch.submitted).toEqual([]);
      l = await balances(app);
      expect([l.balanced, l.of('recharge_clearing:default'), l.of('refunds_due:default')]).toEqual([true, 0, 0]);
    },
  );

  it(
    'settle-unknown-recharge: the channel still does not know → money stays in clearing, flagged once, ' +
      'one run per stuck state',
    async () => {
      const ch = new ScriptedChannel('scripted');
      const { app, r, clock } = await afterJob(ch, 'hal');
      // The job gave up while the channel said "processing": that already flagged it once.
      expect((await flags(app)).map((f) => f.code)).toEqual(['RECHARGE_UNRESOLVED']);
      clock.offset = 31 * MIN;
      const queriesBefore = ch.queries;
      expect(await app.services.rules.sweep()).toBe(1);
      await untilAction(app, r.id, 'rule.settle-unknown-recharge');
      expect(ch.queries).toBe(queriesBefore + 1);
      expect((await view(app, r.id)).status).toBe('PROCESSING');
      expect(await app.services.rules.sweep()).toBe(0);
      expect((await flags(app)).map((f) => f.code)).toEqual(['RECHARGE_UNRESOLVED']);
      const l = await balances(app);
      expect([l.balanced, l.of('recharge_clearing:default')]).toEqual([true, -5000]);
    },
  );

  it('settle-unknown-recharge waits while the recharge job is still live', async () => {
    const ch = new ScriptedChannel('scripted');
    // A long processing deadline keeps the job polling: the rule must not step in.
    const { app, clock } = await start(ch, {
      recharge: {
        poll_interval_ms: 20,
        processing_deadline_ms: 60_000_000,
        max_attempts: 1,
        operators: { CHINA_MOBILE: { timeout_ms: 150, retries: 1 } },
        channels: { scripted: { type: 'simulator', operators: ALL } },
      },
      // As above: the channel says "processing" until the test says otherwise, whenever the answer comes.
      server: { port: 0, wait_for_completion_ms: 50 },
    });
    await fund(app, 'ida', 10_000);
    const r = await rechargeOnce(app, 'ida');
    await until(app, r.id, (s) => s === 'PROCESSING');
    clock.offset = 31 * MIN;
    expect(await app.services.rules.sweep()).toBe(1);
    await untilAction(app, r.id, 'rule.settle-unknown-recharge');
    const trail = await auditOf(app, 'recharge', r.id);
    expect(trail.find((a) => a.action === 'rule.settle-unknown-recharge')?.after).toMatchObject({
      result: 'its job is still working on it',
    });
    expect(await flags(app)).toEqual([]);
    ch.queryAnswer = 'succeeded';
    expect(await until(app, r.id, (s) => s === 'SUCCEEDED')).toBe('SUCCEEDED');
  });

  it(
    'recheck-failed-recharge: a FAILED recharge whose channel now says succeeded is corrected and flagged; ' +
      'agreeing ones are left alone',
    async () => {
      const ch = new ScriptedChannel('scripted');
      ch.submitAnswer = 'failed';
      ch.queryAnswer = 'failed';
      const { app, clock } = await start(ch);
      await fund(app, 'jon', 10_000);
      const wrong = await rechargeOnce(app, 'jon');
      const right = await rechargeOnce(app, 'jon', 2000);
      expect(await until(app, wrong.id, (s) => s === 'FAILED')).toBe('FAILED');
      expect(await until(app, right.id, (s) => s === 'FAILED')).toBe('FAILED');
      ch.queryFor.set(attemptKeyOf(await view(app, wrong.id)), 'succeeded');
      clock.offset = 9 * MIN;
      expect(await app.services.rules.sweep()).toBe(0);
      clock.offset = 11 * MIN;
      expect(await app.services.rules.sweep()).toBe(2);
      expect(await until(app, wrong.id, (s) => s === 'SUCCEEDED')).toBe('SUCCEEDED');
      await untilAction(app, right.id, 'rule.recheck-failed-recharge');
      expect((await view(app, right.id)).status).toBe('FAILED');
      expect(await actions(app, wrong.id)).toEqual(
        expect.arrayContaining([
          'recharge.corrected',
          'flag.recharge_status_corrected',
          'rule.recheck-failed-recharge',
        ]),
      );
      expect((await flags(app)).map((f) => [f.code, f.resource_id])).toEqual([['RECHARGE_STATUS_CORRECTED', wrong.id]]);
      expect(await wallet(app, 'jon')).toBe(5000);
      const l = await balances(app);
      expect([l.balanced, l.of('recharge_clearing:default'), l.of('carrier:scripted'), l.of('wallet:jon')]).toEqual([
        true,
        0,
        -5000,
        -5000,
      ]);
      // Past the look-back window nothing is re-examined.
      clock.offset = 25 * 60 * MIN;
      expect(await app.services.rules.sweep()).toBe(0);
    },
  );
});
