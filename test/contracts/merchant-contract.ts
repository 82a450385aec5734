import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Merchant,
  type MerchantOrderRequest,
  type MerchantOrderResult,
  MerchantUnknownOutcomeError,
} from '../../src/ports/merchant.js';
import type { FulfilmentTruth } from '../../src/simulator/simulated-merchant.js';
import { within } from '../support/within.js';

/**
 * What a merchant under contract test needs around it: the adapter, the shop's journal of
 * drinks really made (the ground truth), and the chaos knobs of the shop it talks to.
 */
export interface MerchantUnderTest {
  readonly merchant: Merchant;
  /** Every drink the shop really made (`SimulatedMerchant.groundTruth`). */
  readonly groundTruth: () => readonly FulfilmentTruth[];
  readonly chaos: MerchantChaos;
  close(): Promise<void>;
}

/** The shop's chaos knobs, in the terms of what the caller sees. Each stays on until `calm`. */
export interface MerchantChaos {
  /** The shop refuses every new order (out of stock). */
  refuseOrders(): Promise<void>;
  /** The shop makes the drink, and its answer is lost (held past our timeout, or the connection dies). */
  loseAnswers(): Promise<void>;
  /** Orders are turned away with a 5xx before anything is done. */
  failServer(): Promise<void>;
  /** A healthy shop again. */
  calm(): Promise<void>;
}

/** Bounds every wait on an adapter: far above a healthy run, far below vitest's timeout. */
const BOUND_MS = 5000;

let seq = 0;
/** A fresh order as the fulfil job sends it: the key is `<order id>_fulfil`. */
function order(tag: string): MerchantOrderRequest {
  seq += 1;
  const orderId = `ord_${tag}_${seq}`;
  return {
    idempotencyKey: `${orderId}_fulfil`,
    orderId,
    drink: 'latte',
    size: 'medium',
    quantity: 1,
    options: { temperature: 'iced' },
  };
}

/**
 * The contract every Merchant adapter passes: what the fulfil job relies on. One idempotency key
 * makes at most one drink however often it is sent; query by key tells the truth (`not_found`
 * for what never arrived); a refusal is `rejected` with a reason and stays so for its key; and a
 * lost answer THROWS MerchantUnknownOutcomeError, after which query by the same key settles it.
 */
export function merchantContract(label: string, make: () => Promise<MerchantUnderTest>): void {
  describe(`Merchant contract: ${label}`, () => {
    let t: MerchantUnderTest;
    // A shop per test: chaos knobs and journals never leak from one case into the next.
    beforeEach(async () => {
      t = await make();
    });
    afterEach(async () => {
      await t.close();
    });

    const submit = (req: MerchantOrderRequest): Promise<MerchantOrderResult> =>
      within(t.merchant.submit(req), BOUND_MS, 'submit');
    const query = (key: string): Promise<MerchantOrderResult> => within(t.merchant.query(key), BOUND_MS, 'query');
    const drinksFor = (key: string): readonly FulfilmentTruth[] =>
      t.groundTruth().filter((d) => d.idempotencyKey === key);

    it('accepts a fresh order with a merchantOrderId, and makes one drink for it', async () => {
      const req = order('fresh');
      const r = await submit(req);
      expect(r.status).toBe('accepted');
      expect(r.merchantOrderId).toMatch(/\S/);
      expect(drinksFor(req.idempotencyKey)).toEqual([
        expect.objectContaining({ orderId: req.orderId, merchantOrderId: r.merchantOrderId }),
      ]);
    });

    it('the same idempotency key again answers the same merchantOrderId and makes no second drink', async () => {
      const req = order('dup');
      const first = await submit(req);
      expect(await submit(req)).toEqual(first);
      expect(drinksFor(req.idempotencyKey)).toHaveLength(1);
    });

    it('two submits of one key racing each other make one drink, and both name it', async () => {
      const req = order('race');
      const [a, b] = await Promise.all([submit(req), submit(req)]);
      expect(a).toMatchObject({ status: 'accepted' });
      expect(b).toEqual(a);
      expect(drinksFor(req.idempotencyKey)).toHaveLength(1);
    });

    it('query by key tells an accepted order, with its merchantOrderId', async () => {
      const req = order('query');
      const r = await submit(req);
      expect(await query(req.idempotencyKey)).toEqual({ status: 'accepted', merchantOrderId: r.merchantOrderId });
    });

    it('answers not_found for a key it never received', async () => {
      const q = await query(order('never').idempotencyKey);
      expect(q.status).toBe('not_found');
      expect(q.merchantOrderId).toBeUndefined();
    });

    it(
      'a refusal (out of stock) is rejected with a reason, makes no drink, ' + 'and stays the answer for its key',
      async () => {
        const req = order('refused');
        await t.chaos.refuseOrders();
        const r = await submit(req);
        expect(r.status).toBe('rejected');
        expect(r.reason).toMatch(/\S/);
        expect(r.merchantOrderId).toBeUndefined();
        // The fulfil job refunds on a refusal: the same key must not make the drink later.
        await t.chaos.calm();
        expect(await query(req.idempotencyKey)).toMatchObject({ status: 'rejected', reason: r.reason });
        expect((await submit(req)).status).toBe('rejected');
        expect(drinksFor(req.idempotencyKey)).toEqual([]);
      },
    );

    it(
      'a lost answer THROWS MerchantUnknownOutcomeError; query by key then tells the truth, ' +
        'and a resubmission makes no second drink',
      async () => {
        const req = order('lost');
        await t.chaos.loseAnswers();
        await expect(submit(req)).rejects.toBeInstanceOf(MerchantUnknownOutcomeError);
        await t.chaos.calm();
        const [made] = drinksFor(req.idempotencyKey);
        expect(made, 'the shop made the drink before its answer was lost').toBeDefined();
        expect(await query(req.idempotencyKey)).toEqual({ status: 'accepted', merchantOrderId: made?.merchantOrderId });
        expect(await submit(req)).toEqual({ status: 'accepted', merchantOrderId: made?.merchantOrderId });
        expect(drinksFor(req.idempotencyKey)).toHaveLength(1);
      },
    );

    it(
      'a 5xx THROWS MerchantUnknownOutcomeError; nothing was done, ' +
        'so query says not_found and the key may be sent again',
      async () => {
        const req = order('err');
        await t.chaos.failServer();
        await expect(submit(req)).rejects.toBeInstanceOf(MerchantUnknownOutcomeError);
        await t.chaos.calm();
        expect((await query(req.idempotencyKey)).status).toBe('not_found');
        expect(drinksFor(req.idempotencyKey)).toEqual([]);
        expect((await submit(req)).status).toBe('accepted');
        expect(drinksFor(req.idempotencyKey)).toHaveLength(1);
      },
    );
  });
}
