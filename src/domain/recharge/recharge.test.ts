import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  attemptKey,
  createRecharge,
  currentAttempt,
  deliveredAttempt,
  RECHARGE_STATUSES,
  type RechargeEvent,
  type RechargeState,
  type RechargeStatus,
  TERMINAL_RECHARGE_STATUSES,
  transitionRecharge,
} from './recharge.js';

const ID = 'rch_01TESTRECHARGE';
const K1 = attemptKey(ID, 1);
const K2 = attemptKey(ID, 2);

function must(r: ReturnType<typeof transitionRecharge>): RechargeState {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function run(events: RechargeEvent[], maxAttempts = 3): RechargeState {
  const created = createRecharge(ID, maxAttempts);
  if (!created.ok) throw new Error(created.error.message);
  return events.reduce((s, e) => must(transitionRecharge(s, e)), created.value);
}

const submitA: RechargeEvent = { type: 'submit', channel: 'a' };
const submitB: RechargeEvent = { type: 'submit', channel: 'b' };
const failA: RechargeEvent = { type: 'failed', key: K1, code: 'CHANNEL_DOWN', final: false };

describe('recharge state machine', () => {
  it('attempt keys are 8–32 letters and digits, distinct per attempt', () => {
    expect(K1).toBe('rch01TESTRECHARGEA1');
    expect(K1).toMatch(/^[A-Za-z0-9]{8,32}$/);
    expect(K1).not.toBe(K2);
    expect(createRecharge('rch_01M81S59TP0000ZZN8R0P6CQ', 3).ok).toBe(true);
    expect(createRecharge('x', 3).ok).toBe(false);
    expect(createRecharge('rch_' + 'A'.repeat(40), 3).ok).toBe(false);
    expect(createRecharge(ID, 0).ok).toBe(false);
  });

  type Expect = RechargeStatus | 'ILLEGAL_TRANSITION';
  const table: Array<[string, RechargeEvent[], RechargeEvent, Expect]> = [
    ['CREATED', [], submitA, 'SUBMITTING'],
    ['CREATED', [], { type: 'abandon', reason: 'NO_CHANNEL' }, 'FAILED'],
    ['CREATED', [], { type: 'succeeded', key: K1 }, 'ILLEGAL_TRANSITION'],
    ['SUBMITTING', [submitA], { type: 'accepted', key: K1, channelOrderId: 'J1' }, 'PROCESSING'],
    ['SUBMITTING', [submitA], { type: 'succeeded', key: K1 }, 'SUCCEEDED'],
    ['SUBMITTING', [submitA], { type: 'timed_out', key: K1 }, 'UNKNOWN'],
    ['SUBMITTING', [submitA], failA, 'AWAITING_FAILOVER'],
    ['SUBMITTING', [submitA], { type: 'failed', key: K1, code: 'NUMBER_SUSPENDED', final: true }, 'FAILED'],
    ['SUBMITTING', [submitA], submitB, 'ILLEGAL_TRANSITION'],
    ['SUBMITTING', [submitA], { type: 'abandon', reason: 'x' }, 'ILLEGAL_TRANSITION'],
    ['SUBMITTING', [submitA], { type: 'succeeded', key: K2 }, 'ILLEGAL_TRANSITION'],
    ['SUBMITTING', [submitA], { type: 'resubmit', key: K1 }, 'ILLEGAL_TRANSITION'],
    ['PROCESSING', [submitA, { type: 'accepted', key: K1 }], { type: 'succeeded', key: K1 }, 'SUCCEEDED'],
    ['PROCESSING', [submitA, { type: 'accepted', key: K1 }], failA, 'AWAITING_FAILOVER'],
    ['PROCESSING', [submitA, { type: 'accepted', key: K1 }], { type: 'timed_out', key: K1 }, 'ILLEGAL_TRANSITION'],
    ['PROCESSING', [submitA, { type: 'accepted', key: K1 }], submitB, 'ILLEGAL_TRANSITION'],
    // UNKNOWN: never another channel; resolved by query (or the same order id again).
    ['UNKNOWN', [submitA, { type: 'timed_out', key: K1 }], submitB, 'ILLEGAL_TRANSITION'],
    ['UNKNOWN', [submitA, { type: 'timed_out', key: K1 }], { type: 'abandon', reason: 'x' }, 'ILLEGAL_TRANSITION'],
    ['UNKNOWN', [submitA, { type: 'timed_out', key: K1 }], { type: 'succeeded', key: K1 }, 'SUCCEEDED'],
    ['UNKNOWN', [submitA, { type: 'timed_out', key: K1 }], { type: 'accepted', key: K1 }, 'PROCESSING'],
    ['UNKNOWN', [submitA, { type: 'timed_out', key: K1 }], { type: 'resubmit', key: K1 }, 'SUBMITTING'],
    ['UNKNOWN', [submitA, { type: 'timed_out', key: K1 }], failA, 'AWAITING_FAILOVER'],
    ['AWAITING_FAILOVER', [submitA, failA], submitB, 'SUBMITTING'],
    ['AWAITING_FAILOVER', [submitA, failA], submitA, 'ILLEGAL_TRANSITION'],
    ['AWAITING_FAILOVER', [submitA, failA], { type: 'succeeded', key: K1 }, 'ILLEGAL_TRANSITION'],
    ['AWAITING_FAILOVER', [submitA, failA], { type: 'abandon', reason: 'NO_CHANNEL' }, 'FAILED'],
    ['SUCCEEDED', [submitA, { type: 'succeeded', key: K1 }], { type: 'succeeded', key: K1 }, 'ILLEGAL_TRANSITION'],
    ['SUCCEEDED', [submitA, { type: 'succeeded', key: K1 }], failA, 'ILLEGAL_TRANSITION'],
    [
      'FAILED',
      [submitA, { type: 'failed', key: K1, code: 'X', final: true }],
      { type: 'succeeded', key: K1 },
      'ILLEGAL_TRANSITION',
    ],
    ['FAILED', [submitA, { type: 'failed', key: K1, code: 'X', final: true }], submitB, 'ILLEGAL_TRANSITION'],
    // A correction: the channel says a FAILED recharge's attempt succeeded after all.
    [
      'FAILED',
      [submitA, { type: 'failed', key: K1, code: 'X', final: true }],
      { type: 'corrected', key: K1 },
      'SUCCEEDED',
    ],
    [
      'FAILED',
      [submitA, { type: 'failed', key: K1, code: 'X', final: true }],
      { type: 'corrected', key: K2 },
      'ILLEGAL_TRANSITION',
    ],
    ['PROCESSING', [submitA, { type: 'accepted', key: K1 }], { type: 'corrected', key: K1 }, 'ILLEGAL_TRANSITION'],
    ['SUCCEEDED', [submitA, { type: 'succeeded', key: K1 }], { type: 'corrected', key: K1 }, 'ILLEGAL_TRANSITION'],
  ];
  it.each(table)('%s + %o → %s', (_from, before, event, expected) => {
    const r = transitionRecharge(run(before), event);
    if (expected === 'ILLEGAL_TRANSITION') expect(!r.ok && r.error.code).toBe('ILLEGAL_TRANSITION');
    else expect(r.ok && r.value.status).toBe(expected);
  });

  it(
    'fails over to a second channel under a new order id, ' + 'and a late answer for the first attempt moves nothing',
    () => {
      const s = run([submitA, failA, submitB]);
      expect(currentAttempt(s)).toEqual({ channel: 'b', key: K2 });
      expect(s.attempts[0]?.failure).toEqual({ code: 'CHANNEL_DOWN', final: false });
      const late = transitionRecharge(s, { type: 'succeeded', key: K1 });
      expect(!late.ok && late.error.details).toMatchObject({ reason: expect.stringContaining(K1) as unknown });
    },
  );

  it('a correction names the attempt that delivered, even an earlier one, and is not repeatable', () => {
    const s = run([submitA, failA, submitB, { type: 'failed', key: K2, code: 'CHANNEL_DOWN', final: false }], 2);
    const c = must(transitionRecharge(s, { type: 'corrected', key: K1, channelOrderId: 'J7' }));
    expect(c.status).toBe('SUCCEEDED');
    expect(deliveredAttempt(c)).toMatchObject({ channel: 'a', key: K1, channelOrderId: 'J7', lateSuccess: true });
    expect(transitionRecharge(c, { type: 'corrected', key: K1 }).ok).toBe(false);
    expect(deliveredAttempt(run([submitA, { type: 'succeeded', key: K1 }]))?.key).toBe(K1);
    expect(deliveredAttempt(s)).toBeUndefined();
  });

  it('stops after maxAttempts definite failures', () => {
    const s = run([submitA, failA, submitB, { type: 'failed', key: K2, code: 'CHANNEL_DOWN', final: false }], 2);
    expect(s).toMatchObject({ status: 'FAILED', reason: 'CHANNEL_DOWN' });
    expect(s.attempts).toHaveLength(2);
  });

  it('keeps the channel order number from accepted or succeeded', () => {
    const s = run([submitA, { type: 'accepted', key: K1, channelOrderId: 'J42' }, { type: 'succeeded', key: K1 }]);
    expect(currentAttempt(s)?.channelOrderId).toBe('J42');
  });

  it(
    'over random event sequences: one attempt at a time, a new channel only after a definite failure, ' +
      'terminal stays terminal',
    () => {
      const channels = ['a', 'b', 'c', 'd'];
      const keys = [1, 2, 3, 4].map((n) => attemptKey(ID, n));
      const ev: fc.Arbitrary<RechargeEvent> = fc.oneof(
        fc.constantFrom(...channels).map((channel): RechargeEvent => ({ type: 'submit', channel })),
        fc.constantFrom(...keys).map((key): RechargeEvent => ({ type: 'resubmit', key })),
        fc.constantFrom(...keys).map((key): RechargeEvent => ({ type: 'accepted', key })),
        fc.constantFrom(...keys).map((key): RechargeEvent => ({ type: 'timed_out', key })),
        fc.constantFrom(...keys).map((key): RechargeEvent => ({ type: 'succeeded', key })),
        fc
          .record({ key: fc.constantFrom(...keys), final: fc.boolean() })
          .map(({ key, final }): RechargeEvent => ({ type: 'failed', key, code: 'E', final })),
        fc.constant<RechargeEvent>({ type: 'abandon', reason: 'r' }),
      );
      fc.assert(
        fc.property(fc.array(ev, { maxLength: 40 }), fc.integer({ min: 1, max: 4 }), (seq, maxAttempts) => {
          let s = run([], maxAttempts);
          for (const e of seq) {
            const r = transitionRecharge(s, e);
            if (TERMINAL_RECHARGE_STATUSES.has(s.status) && e.type !== 'corrected') expect(r.ok).toBe(false);
            if (!r.ok) continue;
            const next = r.value;
            expect(RECHARGE_STATUSES).toContain(next.status);
            expect(next.attempts.length).toBeLessThanOrEqual(maxAttempts);
            if (next.attempts.length > s.attempts.length) {
              // A new attempt starts only from CREATED or after a definite failure of the last one.
              expect(['CREATED', 'AWAITING_FAILOVER']).toContain(s.status);
              expect(s.attempts.every((a) => a.failure !== undefined)).toBe(true);
            }
            const usedChannels = next.attempts.map((a) => a.channel);
            expect(new Set(usedChannels).size).toBe(usedChannels.length);
            const usedKeys = next.attempts.map((a) => a.key);
            expect(new Set(usedKeys).size).toBe(usedKeys.length);
            // Only the last attempt may be open; all earlier ones failed definitely.
            expect(next.attempts.slice(0, -1).every((a) => a.failure !== undefined)).toBe(true);
            s = next;
          }
        }),
      );
    },
  );
});
