import { describe, expect, it } from 'vitest';
import { attemptKey, createRecharge, type RechargeEvent, type RechargeState, transitionRecharge } from './recharge.js';
import { type ChannelVerdict, decideVerdict } from './verdict.js';

const ID = 'rch_01VERDICTTEST';
const K1 = attemptKey(ID, 1);
const K2 = attemptKey(ID, 2);

function run(events: RechargeEvent[]): RechargeState {
  const created = createRecharge(ID, 2);
  if (!created.ok) throw new Error(created.error.message);
  return events.reduce((s, e) => {
    const r = transitionRecharge(s, e);
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  }, created.value);
}

const submitA: RechargeEvent = { type: 'submit', channel: 'a' };
const acceptA: RechargeEvent = { type: 'accepted', key: K1 };
const failA: RechargeEvent = { type: 'failed', key: K1, code: 'BUSY', final: false };
const submitB: RechargeEvent = { type: 'submit', channel: 'b' };
const ok1: ChannelVerdict = { key: K1, status: 'succeeded', channelOrderId: 'J1' };
const no1: ChannelVerdict = { key: K1, status: 'failed', failureCode: 'JUHE_GAME_STATE_9' };

describe('a channel verdict against the recharge as recorded', () => {
  const table: Array<[string, RechargeEvent[], ChannelVerdict, string]> = [
    ['open attempt succeeded → move', [submitA, acceptA], ok1, 'move:succeeded'],
    ['open attempt failed → move', [submitA, acceptA], no1, 'move:failed'],
    ['submitting, channel processing → accepted', [submitA], { key: K1, status: 'processing' }, 'move:accepted'],
    [
      'processing, channel still processing → unresolved',
      [submitA, acceptA],
      { key: K1, status: 'processing' },
      'unresolved',
    ],
    [
      'unknown, channel never got it → unresolved',
      [submitA, { type: 'timed_out', key: K1 }],
      { key: K1, status: 'not_found' },
      'unresolved',
    ],
    ['duplicate success → no change', [submitA, { type: 'succeeded', key: K1 }], ok1, 'no_change'],
    ['duplicate failure of an old attempt → no change', [submitA, failA, submitB], no1, 'no_change'],
    [
      'FAILED, channel says success → correct',
      [submitA, failA, submitB, { type: 'failed', key: K2, code: 'X', final: false }],
      ok1,
      'correct:corrected',
    ],
    [
      'FAILED, channel agrees → no change',
      [submitA, { type: 'failed', key: K1, code: 'X', final: true }],
      no1,
      'no_change',
    ],
    ['old attempt succeeded while another runs → flag', [submitA, failA, submitB], ok1, 'flag:RECHARGE_EXTRA_TOP_UP'],
    [
      'delivered attempt reported failed → flag, never backwards',
      [submitA, { type: 'succeeded', key: K1 }],
      no1,
      'flag:RECHARGE_REVERSED',
    ],
    ['not our attempt → unknown', [submitA], { key: K2, status: 'succeeded' }, 'unknown_attempt'],
  ];
  it.each(table)('%s', (_name, before, verdict, expected) => {
    const d = decideVerdict(run(before), verdict);
    const label =
      d.kind === 'move' || d.kind === 'correct'
        ? `${d.kind}:${d.event.type}`
        : d.kind === 'flag'
          ? `flag:${d.code}`
          : d.kind;
    expect(label).toBe(expected);
  });

  it('every move it proposes is legal for the state it was decided on', () => {
    for (const [, before, verdict] of table) {
      const s = run(before);
      const d = decideVerdict(s, verdict);
      if (d.kind === 'move' || d.kind === 'correct') expect(transitionRecharge(s, d.event).ok).toBe(true);
    }
  });
});
