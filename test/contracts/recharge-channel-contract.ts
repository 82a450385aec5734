import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Money } from '../../src/domain/money.js';
import { OPERATORS, type OperatorId } from '../../src/domain/recharge/number-segments.js';
import {
  type RechargeCallbackRequest,
  type RechargeChannel,
  type RechargeChannelResult,
  RechargeUnknownOutcomeError,
} from '../../src/ports/recharge-channel.js';
import type { TopUp } from '../../src/simulator/simulated-carriers.js';
import { within } from '../support/within.js';

/**
 * What a recharge channel under contract test needs around it: the adapter, the carriers'
 * ledger behind it (what really reached a phone), the chaos knobs of the simulator it talks to,
 * and the result callbacks that simulator sent.
 */
export interface RechargeChannelUnderTest {
  readonly channel: RechargeChannel;
  /** Every top-up that reached a phone, in order: the carriers' ledger (`SimulatedCarriers.groundTruth`). */
  readonly groundTruth: () => readonly TopUp[];
  /** Our prepaid money at the channel when the harness opened the account. */
  readonly openingBalance: Money;
  /** What the channel charges for a face value (the simulators sell at face value). */
  price(face: Money): Money;
  /**
   * Resolves once the simulator has nothing left in flight (carrier settlements, callbacks), so
   * that an assertion that something did NOT happen is not a race with it happening later.
   */
  idle(): Promise<void>;
  readonly chaos: RechargeChaos;
  readonly callbacks: RechargeCallbackHarness;
  close(): Promise<void>;
}

/** The simulator's chaos knobs, in the terms of what the caller sees. Each stays on until `calm`. */
export interface RechargeChaos {
  /** The carrier refuses every new top-up: the order ends failed and nothing reaches the phone. */
  refuseTopUps(): void;
  /** The channel takes every submit and then holds its answer past our timeout. */
  loseAnswers(): void;
  /** Submits are turned away with a 5xx before anything is done. */
  failServer(): void;
  /**
   * Submits are turned away with a definite answer before anything is done: the channel is
   * busy or over its quota (simulated channel: capacity 0; Juhe: 10012 over quota).
   */
  turnAway(): void;
  /** A healthy channel again; answers still held are let go. */
  calm(): void;
}

/**
 * The channel's result callbacks. Adapters differ here, and say how, rather than skip:
 * - `delivery`: 'http' when the simulator POSTs them to a receiver that answers with the
 *   adapter's `reply` (a re-send would mean the reply was not taken as an acknowledgement);
 *   'in-process' when the simulated channel hands them to a hook (it has no HTTP face).
 * - `signatureCoversResult`: false when the signature leaves the result out (Juhe signs
 *   md5(key + sporder_id + orderid), not `sta`); the adapter must then mark every callback
 *   `confirmByQuery`, and the receiver believes `query`, not the callback.
 */
export interface RechargeCallbackHarness {
  readonly delivery: 'http' | 'in-process';
  readonly signatureCoversResult: boolean;
  /** The genuine callbacks the simulator sent for one of our orders, as our receiver got them. */
  delivered(orderId: string): readonly RechargeCallbackRequest[];
  /** The same callback signed with a key that is not ours (an attacker's). */
  forge(genuine: RechargeCallbackRequest): RechargeCallbackRequest;
  /** The same callback, signature kept, about another order (a replay re-aimed). */
  retarget(genuine: RechargeCallbackRequest, orderId: string): RechargeCallbackRequest;
  /** The same callback, signature kept, with the opposite result. */
  flipResult(genuine: RechargeCallbackRequest): RechargeCallbackRequest;
  /** Callbacks in this protocol's shape that lack a required field or carry no known result. */
  malformed(genuine: RechargeCallbackRequest): readonly RechargeCallbackRequest[];
}

const OPERATOR: OperatorId = 'CHINA_MOBILE';
const PHONE = '13800138000';
/** An ordinary rechargeable number of each operator (Unicom's answers come in GBK from Juhe). */
const NUMBER_OF: Readonly<Record<OperatorId, string>> = {
  CHINA_MOBILE: PHONE,
  CHINA_UNICOM: '18600001111',
  CHINA_TELECOM: '18900001111',
  CHINA_BROADNET: '19200001111',
  VIRTUAL: '17000001111',
};
const OTHER_PHONE = '13900139000';
const cny = (fen: number): Money => ({ amount: fen, currency: 'CNY' });
/** Bounds every wait on an adapter or simulator: far above a healthy run, far below vitest's timeout. */
const BOUND_MS = 5000;

let seq = 0;
/** 8–32 letters and digits, as the port asks of order ids (Juhe refuses anything else). */
const orderId = (tag: string): string => `rc${tag}${String((seq += 1)).padStart(6, '0')}`;

/** The refusal code of parseCallback, or 'accepted'; a throw fails the test: refusals are Results. */
function verdict(channel: RechargeChannel, request: RechargeCallbackRequest): string {
  let r: ReturnType<RechargeChannel['parseCallback']>;
  try {
    r = channel.parseCallback(request);
  } catch (e) {
    throw new Error(`parseCallback threw instead of returning a Result: ${String(e)}`);
  }
  return r.ok ? 'accepted' : r.error.code;
}

/**
 * The contract every RechargeChannel adapter passes: what the recharge job relies on. One order
 * id tops a phone up at most once however often it is sent; query tells the truth (and
 * `not_found` for what never arrived); refusals are `failed` with a code; amounts are fen;
 * callbacks verify when genuine and are refused, as Results, when forged or malformed; and an
 * outcome the caller cannot know THROWS RechargeUnknownOutcomeError, after which query, on the
 * same channel, settles it.
 */
export function rechargeChannelContract(label: string, make: () => Promise<RechargeChannelUnderTest>): void {
  describe(`RechargeChannel contract: ${label}`, () => {
    let t: RechargeChannelUnderTest;
    // A world per test: chaos knobs and ledgers never leak from one case into the next.
    beforeEach(async () => {
      t = await make();
    });
    afterEach(async () => {
      await t.close();
    });

    const submit = (id: string, amount = 5000, phone = PHONE, operator = OPERATOR): Promise<RechargeChannelResult> =>
      within(t.channel.submit({ orderId: id, phone, amount: cny(amount), operator }), BOUND_MS, 'submit');
    const query = (id: string, operator = OPERATOR): Promise<RechargeChannelResult> =>
      within(t.channel.query({ orderId: id, operator }), BOUND_MS, 'query');
    const idle = (): Promise<void> => within(t.idle(), BOUND_MS, 'simulator idle');
    const topUpsOf = (id: string): readonly TopUp[] => t.groundTruth().filter((e) => e.orderId === id);

    /** The order's state once the carrier has settled it (the simulators settle at once). */
    async function settled(id: string, operator = OPERATOR): Promise<RechargeChannelResult> {
      await idle();
      const q = await query(id, operator);
      expect(q.status, 'the carrier settled the order, yet query still says processing').not.toBe('processing');
      return q;
    }

    /** Whatever the answer, a failure carries a code the caller can log and route on. */
    function expectCoherent(r: RechargeChannelResult, id: string): void {
      expect(r.orderId).toBe(id);
      if (r.status === 'failed') expect(r.failureCode).toMatch(/\S/);
    }

    it('tops the phone up exactly once for a fresh order id; query tells the order state', async () => {
      const id = orderId('fresh');
      const first = await submit(id);
      expect(['succeeded', 'processing']).toContain(first.status);
      expectCoherent(first, id);
      const q = await settled(id);
      expect(q).toMatchObject({ status: 'succeeded', orderId: id });
      if (first.channelOrderId !== undefined) expect(q.channelOrderId).toBe(first.channelOrderId);
      expect(topUpsOf(id)).toEqual([expect.objectContaining({ orderId: id, phone: PHONE, amount: cny(5000) })]);
    });

    it.each(OPERATORS)('a %s number is topped up once, and checked as rechargeable', async (operator) => {
      const id = orderId(operator.replace(/[^A-Z]/g, '').slice(0, 8));
      const phone = NUMBER_OF[operator];
      const c = await within(t.channel.check({ phone, amount: cny(2000), operator }), BOUND_MS, 'check');
      expect(c).toEqual({ rechargeable: true });
      expect(['succeeded', 'processing']).toContain((await submit(id, 2000, phone, operator)).status);
      expect((await settled(id, operator)).status).toBe('succeeded');
      expect(topUpsOf(id)).toEqual([expect.objectContaining({ phone, amount: cny(2000) })]);
    });

    it('a second submit with the same order id never tops up twice and answers with the first order', async () => {
      const id = orderId('dup');
      const first = await submit(id);
      const truth = await settled(id);
      const again = await submit(id);
      expect(again).toMatchObject({ status: truth.status, orderId: id });
      if (truth.channelOrderId !== undefined) expect(again.channelOrderId).toBe(truth.channelOrderId);
      if (first.channelOrderId !== undefined) expect(truth.channelOrderId).toBe(first.channelOrderId);
      // Even a retry that (wrongly) changed the number and the amount is the same order to the channel.
      const altered = await submit(id, 10000, OTHER_PHONE);
      expect(altered).toMatchObject({ status: truth.status, orderId: id });
      await idle();
      expect(topUpsOf(id)).toEqual([expect.objectContaining({ phone: PHONE, amount: cny(5000) })]);
      expect(t.groundTruth().filter((e) => e.phone === OTHER_PHONE)).toEqual([]);
    });

    it('two submits of one order id racing each other top up once', async () => {
      const id = orderId('race');
      const answers = await Promise.all([submit(id), submit(id)]);
      for (const a of answers) {
        expect(['succeeded', 'processing']).toContain(a.status);
        expectCoherent(a, id);
      }
      expect((await settled(id)).status).toBe('succeeded');
      expect(topUpsOf(id)).toHaveLength(1);
    });

    it('answers not_found for an order id it never received', async () => {
      const id = orderId('never');
      const q = await query(id);
      expect(q).toMatchObject({ status: 'not_found', orderId: id });
      expect(q.channelOrderId).toBeUndefined();
    });

    it('a top-up the carrier refuses ends failed with a failureCode; nothing reaches the phone, ever', async () => {
      t.chaos.refuseTopUps();
      const id = orderId('refused');
      const first = await submit(id);
      expect(['failed', 'processing']).toContain(first.status);
      expectCoherent(first, id);
      const q = await settled(id);
      expect(q.status).toBe('failed');
      expect(q.failureCode).toMatch(/\S/);
      // The refused order id stays refused, even once the carrier would take it.
      t.chaos.calm();
      const again = await submit(id);
      expect(again.status).toBe('failed');
      expectCoherent(again, id);
      await idle();
      expect(topUpsOf(id)).toEqual([]);
    });

    it('amounts travel in fen: the face value in fen is what the carrier credits and what is charged', async () => {
      for (const fen of [3000, 10000]) {
        const id = orderId(`fen${fen}`);
        const answer = await submit(id, fen);
        const q = await settled(id);
        expect(topUpsOf(id)).toEqual([expect.objectContaining({ amount: cny(fen) })]);
        for (const r of [answer, q]) if (r.cost !== undefined) expect(r.cost).toEqual(t.price(cny(fen)));
      }
    });

    it('check answers rechargeable for a normal number and face value, and tops nothing up', async () => {
      expect(
        await within(t.channel.check({ phone: PHONE, amount: cny(5000), operator: OPERATOR }), BOUND_MS, 'check'),
      ).toEqual({ rechargeable: true });
      await idle();
      expect(t.groundTruth()).toEqual([]);
    });

    it('balance is our prepaid money in CNY fen, and a top-up takes its price off it', async () => {
      const balance = (): Promise<Money> => within(t.channel.balance(), BOUND_MS, 'balance');
      expect(await balance()).toEqual(t.openingBalance);
      const id = orderId('bal');
      await submit(id);
      await settled(id);
      expect(await balance()).toEqual(cny(t.openingBalance.amount - t.price(cny(5000)).amount));
    });

    it(
      'a lost answer (the channel hangs past our timeout) THROWS RechargeUnknownOutcomeError; ' +
        'query then tells the truth, and a resubmission tops up no more',
      async () => {
        const id = orderId('lost');
        t.chaos.loseAnswers();
        await expect(submit(id)).rejects.toBeInstanceOf(RechargeUnknownOutcomeError);
        t.chaos.calm();
        // The channel took the order: query, on the same channel, is how the caller learns it.
        expect((await settled(id)).status).toBe('succeeded');
        expect(topUpsOf(id)).toHaveLength(1);
        const again = await submit(id);
        expect(again.status).not.toBe('failed');
        await idle();
        expect(topUpsOf(id)).toHaveLength(1);
      },
    );

    it(
      'a 5xx THROWS RechargeUnknownOutcomeError; nothing was done, ' +
        'so query says not_found and the id may be sent again',
      async () => {
        const id = orderId('err');
        t.chaos.failServer();
        await expect(submit(id)).rejects.toBeInstanceOf(RechargeUnknownOutcomeError);
        t.chaos.calm();
        await idle();
        expect((await query(id)).status).toBe('not_found');
        expect(topUpsOf(id)).toEqual([]);
        await submit(id);
        expect((await settled(id)).status).toBe('succeeded');
        expect(topUpsOf(id)).toHaveLength(1);
      },
    );

    it(
      'a channel that turns submits away (busy, over quota) refuses a fresh order, ' +
        'yet answers a resubmission with the first order',
      async () => {
        const id = orderId('busy');
        await submit(id);
        const truth = await settled(id);
        t.chaos.turnAway();
        // Routing fails a failed attempt over to another channel: for an order this channel already
        // has, that would top the phone up twice. The first order's state is the only safe answer.
        expect(await submit(id)).toMatchObject({ status: truth.status, orderId: id });
        const fresh = orderId('busynew');
        const refused = await submit(fresh);
        expect(refused.status).toBe('failed');
        expectCoherent(refused, fresh);
        t.chaos.calm();
        await idle();
        expect((await query(fresh)).status).toBe('not_found');
        expect(topUpsOf(id)).toHaveLength(1);
        expect(topUpsOf(fresh)).toEqual([]);
      },
    );

    describe('callbacks', () => {
      /** Submit, let the carrier settle, and take the one callback the channel sent for it. */
      async function genuineFor(id: string): Promise<RechargeCallbackRequest> {
        await submit(id);
        await idle();
        const sent = t.callbacks.delivered(id);
        // One each: over HTTP, a second would mean the channel did not take our reply as an acknowledgement.
        expect(sent, `callbacks delivered (${t.callbacks.delivery})`).toHaveLength(1);
        return sent[0] as RechargeCallbackRequest;
      }

      it('a genuine callback verifies and says which order and how it ended, with a 2xx reply', async () => {
        const id = orderId('cbok');
        const cb = await genuineFor(id);
        const r = t.channel.parseCallback(cb);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        const truth = await query(id);
        expect(r.value).toMatchObject({ orderId: id, status: 'succeeded' });
        if (truth.channelOrderId !== undefined) expect(r.value.channelOrderId).toBe(truth.channelOrderId);
        expect(r.value.reply.status).toBeGreaterThanOrEqual(200);
        expect(r.value.reply.status).toBeLessThan(300);
      });

      it('a genuine callback for a refused top-up says failed', async () => {
        t.chaos.refuseTopUps();
        const id = orderId('cbfail');
        const r = t.channel.parseCallback(await genuineFor(id));
        expect(r.ok && r.value).toMatchObject({ orderId: id, status: 'failed' });
      });

      it(
        'a result outside the signature is marked confirmByQuery, ' +
          'and query has the truth (capability signatureCoversResult)',
        async () => {
          const id = orderId('cbflip');
          const cb = await genuineFor(id);
          const flipped = t.callbacks.flipResult(cb);
          if (t.callbacks.signatureCoversResult) {
            // The signature covers the result: a replay with the result flipped does not verify.
            expect(verdict(t.channel, flipped)).toBe('CALLBACK_SIGNATURE_INVALID');
          } else {
            // It does not: the flipped replay verifies, so every callback must send the receiver to query.
            for (const c of [cb, flipped]) {
              const r = t.channel.parseCallback(c);
              expect(r.ok && r.value.confirmByQuery).toBe(true);
            }
            const f = t.channel.parseCallback(flipped);
            expect(f.ok && f.value.status).toBe('failed');
            expect((await query(id)).status).toBe('succeeded');
          }
        },
      );

      it(
        'a forged callback (wrong key) or one re-aimed at another order ' +
          'is refused with CALLBACK_SIGNATURE_INVALID, as a Result',
        async () => {
          const id = orderId('cbforge');
          const cb = await genuineFor(id);
          expect(verdict(t.channel, cb)).toBe('accepted');
          expect(verdict(t.channel, t.callbacks.forge(cb))).toBe('CALLBACK_SIGNATURE_INVALID');
          expect(verdict(t.channel, t.callbacks.retarget(cb, orderId('other')))).toBe('CALLBACK_SIGNATURE_INVALID');
        },
      );

      it('a malformed callback is refused with CALLBACK_INVALID, as a Result', async () => {
        const cb = await genuineFor(orderId('cbbad'));
        const garbage: RechargeCallbackRequest[] = [
          { params: {} },
          { params: { hello: 'world' }, rawBody: 'hello=world' },
          { params: { '\u0000': '\uffff' }, headers: { 'content-type': 'text/plain' }, rawBody: '\u0000\uffff' },
          ...t.callbacks.malformed(cb),
        ];
        for (const g of garbage) expect(verdict(t.channel, g), JSON.stringify(g.params)).toBe('CALLBACK_INVALID');
      });

      it('never throws on arbitrary parameters, and never takes them for genuine', async () => {
        // The protocol's own field names (from a genuine callback) with arbitrary values, so the
        // property reaches the signature check and not only the shape check.
        const names = Object.keys((await genuineFor(orderId('cbfuzz'))).params);
        const value = fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 }),
        );
        fc.assert(
          fc.property(fc.dictionary(fc.constantFrom(...names, 'extra'), value), (params) => {
            expect(['CALLBACK_INVALID', 'CALLBACK_SIGNATURE_INVALID']).toContain(verdict(t.channel, { params }));
          }),
          { seed: 20240601, numRuns: 300 },
        );
      });
    });
  });
}
