import { assertNever, err, ok, type Result } from '../result.js';

/**
 * Recharge lifecycle (issue 5):
 *
 *   CREATED ─submit(channel)─► SUBMITTING ─accepted─► PROCESSING ─succeeded─► SUCCEEDED
 *                                  │ timed_out            │ failed
 *                                  ▼                      ▼
 *                               UNKNOWN ──query──►  AWAITING_FAILOVER ─submit(another channel)─► SUBMITTING …
 *                                                         └─ attempts used up / final failure / abandon ─► FAILED
 *
 * An attempt whose submit timed out is UNKNOWN: the money may be on the phone already. It is
 * resolved by querying that same channel (or by its callback); it is resubmitted only to that
 * channel and under the same order id, so the channel's own idempotency stops a second top-up.
 * Another channel is tried only after a definite failure. Every attempt has its own order id
 * (`attemptKey`), and an event about an older attempt never moves the current one.
 */
export const RECHARGE_STATUSES = [
  'CREATED',
  'SUBMITTING',
  'PROCESSING',
  'UNKNOWN',
  'AWAITING_FAILOVER',
  'SUCCEEDED',
  'FAILED',
] as const;
export type RechargeStatus = (typeof RECHARGE_STATUSES)[number];

export const TERMINAL_RECHARGE_STATUSES: ReadonlySet<RechargeStatus> = new Set(['SUCCEEDED', 'FAILED']);

/** One try on one channel under one order id. */
export interface RechargeAttempt {
  readonly channel: string;
  /** The order id the channel sees: our idempotency key toward it. */
  readonly key: string;
  /** The channel's own order number, once it told us. */
  readonly channelOrderId?: string;
  /** Set once the channel said no. */
  readonly failure?: { readonly code: string; readonly final: boolean };
  /**
   * The channel said, after we recorded the recharge FAILED, that this attempt did top the
   * phone up: the recharge was corrected to SUCCEEDED on this attempt (see `corrected`).
   */
  readonly lateSuccess?: true;
  /**
   * When the phone was topped up on this attempt (ms), as we recorded the channel's success:
   * what dates it on the channel's order list. Set on the delivering attempt only.
   */
  readonly settledAt?: number;
}

interface Common {
  readonly id: string;
  /** Attempts allowed in all, across channels (1 = no failover). */
  readonly maxAttempts: number;
  /** Every attempt so far, oldest first; the last is the current one while one is open. */
  readonly attempts: readonly RechargeAttempt[];
}

export type RechargeState =
  | (Common & { readonly status: 'CREATED' })
  | (Common & { readonly status: 'SUBMITTING' })
  | (Common & { readonly status: 'PROCESSING' })
  | (Common & { readonly status: 'UNKNOWN' })
  | (Common & { readonly status: 'AWAITING_FAILOVER' })
  | (Common & { readonly status: 'SUCCEEDED' })
  | (Common & { readonly status: 'FAILED'; readonly reason: string });

export type RechargeEvent =
  /** Start an attempt on a channel that has not been tried for this recharge. */
  | { readonly type: 'submit'; readonly channel: string }
  /** The channel, asked about an UNKNOWN attempt, never received it: send it again, same key. */
  | { readonly type: 'resubmit'; readonly key: string }
  /** The channel took the order and is working on it. */
  | { readonly type: 'accepted'; readonly key: string; readonly channelOrderId?: string }
  /** No answer in time: outcome unknown. */
  | { readonly type: 'timed_out'; readonly key: string }
  | { readonly type: 'succeeded'; readonly key: string; readonly channelOrderId?: string }
  /** A definite no. `final` = about the number itself (no other channel will do better). */
  | { readonly type: 'failed'; readonly key: string; readonly code: string; readonly final: boolean }
  /** Give up before another attempt (no channel left, deadline passed). */
  | { readonly type: 'abandon'; readonly reason: string }
  /**
   * A FAILED recharge's channel says one of its attempts succeeded after all: the phone was
   * topped up, so the record is corrected to SUCCEEDED on that attempt (the one move out of a
   * terminal state; the money side is the caller's correction journals).
   */
  | { readonly type: 'corrected'; readonly key: string; readonly channelOrderId?: string };

export type RechargeEventType = RechargeEvent['type'];

/** Channels count order ids of 8–32 letters and digits (Juhe); ours fit every channel we know. */
const KEY_BODY_MAX = 29;

/** Order id of attempt `n` (1-based) of a recharge: its id's letters and digits, then `A<n>`. */
export function attemptKey(rechargeId: string, n: number): string {
  return `${rechargeId.replace(/[^A-Za-z0-9]/g, '')}A${n}`;
}

/** A new recharge; `maxAttempts` bounds failover. */
export function createRecharge(id: string, maxAttempts: number): Result<RechargeState> {
  const body = id.replace(/[^A-Za-z0-9]/g, '');
  if (body.length < 6 || body.length > KEY_BODY_MAX) {
    return err(
      'VALIDATION_FAILED',
      `a recharge id needs 6–${KEY_BODY_MAX} letters or digits to form channel order ids`,
      {
        field: 'id',
      },
    );
  }
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 9) {
    return err('VALIDATION_FAILED', 'maxAttempts must be an integer from 1 to 9', {
      field: 'maxAttempts',
      received: maxAttempts,
    });
  }
  return ok({ id, maxAttempts, attempts: [], status: 'CREATED' });
}

/** The attempt in progress or the one that succeeded, if any. */
export function currentAttempt(state: RechargeState): RechargeAttempt | undefined {
  switch (state.status) {
    case 'SUBMITTING':
    case 'PROCESSING':
    case 'UNKNOWN':
    case 'SUCCEEDED':
      return state.attempts.at(-1);
    case 'CREATED':
    case 'AWAITING_FAILOVER':
    case 'FAILED':
      return undefined;
    default:
      return assertNever(state);
  }
}

function illegal(state: RechargeState, event: RechargeEvent, why?: string): Result<RechargeState> {
  return err(
    'ILLEGAL_TRANSITION',
    `a recharge in ${state.status} cannot take the event ${event.type}${why === undefined ? '' : `: ${why}`}`,
    {
      resource: 'recharge',
      from: state.status,
      event: event.type,
      ...(why === undefined ? {} : { reason: why }),
    },
  );
}

/** Replace the current (last) attempt. */
function withCurrent(state: RechargeState, change: Partial<RechargeAttempt>): readonly RechargeAttempt[] {
  const last = state.attempts.at(-1);
  if (last === undefined) return state.attempts;
  return [...state.attempts.slice(0, -1), { ...last, ...change }];
}

const channelOrder = (id: string | undefined): Partial<RechargeAttempt> =>
  id === undefined ? {} : { channelOrderId: id };

/** The attempt that topped the phone up, for a SUCCEEDED recharge: a corrected one, else the last. */
export function deliveredAttempt(state: RechargeState): RechargeAttempt | undefined {
  if (state.status !== 'SUCCEEDED') return undefined;
  return state.attempts.find((a) => a.lateSuccess === true) ?? state.attempts.at(-1);
}

/** The state with its delivering attempt stamped `settledAt` (once: a later call keeps the first time). */
export function withSettledAt(state: RechargeState, at: number): RechargeState {
  const delivered = deliveredAttempt(state);
  if (delivered === undefined || delivered.settledAt !== undefined) return state;
  return { ...state, attempts: state.attempts.map((a) => (a === delivered ? { ...a, settledAt: at } : a)) };
}

/** Pure transition function for recharges. */
export function transitionRecharge(state: RechargeState, event: RechargeEvent): Result<RechargeState> {
  const { status } = state;
  if (event.type === 'corrected') {
    if (status !== 'FAILED') return illegal(state, event, 'only a FAILED recharge is corrected');
    if (!state.attempts.some((a) => a.key === event.key))
      return illegal(state, event, `order id ${event.key} is not an attempt of this recharge`);
    const attempts = state.attempts.map((a) =>
      a.key === event.key ? { ...a, ...channelOrder(event.channelOrderId), lateSuccess: true as const } : a,
    );
    return ok({ id: state.id, maxAttempts: state.maxAttempts, attempts, status: 'SUCCEEDED' });
  }
  if (event.type === 'submit') {
    if (status !== 'CREATED' && status !== 'AWAITING_FAILOVER') return illegal(state, event);
    if (state.attempts.some((a) => a.channel === event.channel)) {
      return illegal(state, event, `channel ${event.channel} was already tried for this recharge`);
    }
    if (state.attempts.length >= state.maxAttempts) return illegal(state, event, 'no attempts left');
    const key = attemptKey(state.id, state.attempts.length + 1);
    return ok({ ...state, status: 'SUBMITTING', attempts: [...state.attempts, { channel: event.channel, key }] });
  }
  if (event.type === 'abandon') {
    if (status !== 'CREATED' && status !== 'AWAITING_FAILOVER') return illegal(state, event);
    return ok({ ...state, status: 'FAILED', reason: event.reason });
  }
  // Every other event concerns one attempt, named by its key: it must be the open one.
  const open = currentAttempt(state);
  if (open === undefined || TERMINAL_RECHARGE_STATUSES.has(status)) return illegal(state, event);
  if (open.key !== event.key) return illegal(state, event, `order id ${event.key} is not the current attempt`);
  switch (event.type) {
    case 'resubmit':
      return status === 'UNKNOWN' ? ok({ ...state, status: 'SUBMITTING' }) : illegal(state, event);
    case 'accepted':
      return status === 'SUBMITTING' || status === 'UNKNOWN'
        ? ok({ ...state, status: 'PROCESSING', attempts: withCurrent(state, channelOrder(event.channelOrderId)) })
        : illegal(state, event);
    case 'timed_out':
      return status === 'SUBMITTING' ? ok({ ...state, status: 'UNKNOWN' }) : illegal(state, event);
    case 'succeeded':
      return ok({ ...state, status: 'SUCCEEDED', attempts: withCurrent(state, channelOrder(event.channelOrderId)) });
    case 'failed': {
      const attempts = withCurrent(state, { failure: { code: event.code, final: event.final } });
      if (event.final || attempts.length >= state.maxAttempts) {
        return ok({ ...state, status: 'FAILED', attempts, reason: event.code });
      }
      return ok({ ...state, status: 'AWAITING_FAILOVER', attempts });
    }
    default:
      return assertNever(event);
  }
}
