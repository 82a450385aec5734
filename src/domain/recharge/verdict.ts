import {
  currentAttempt,
  deliveredAttempt,
  type RechargeEvent,
  type RechargeState,
  TERMINAL_RECHARGE_STATUSES,
} from './recharge.js';

/** What a channel says about one of our attempts, by callback or by query. */
export interface ChannelVerdict {
  /** The attempt's order id (`attemptKey`). */
  readonly key: string;
  readonly status: 'succeeded' | 'failed' | 'processing' | 'not_found';
  readonly channelOrderId?: string;
  readonly failureCode?: string;
  /** A failure about the number itself: no failover. */
  readonly final?: boolean;
}

/**
 * What a verdict means for the recharge as it stands:
 * - `move`: an event for the open attempt (the normal path);
 * - `correct`: the recharge was recorded FAILED but the channel says an attempt topped the phone up;
 * - `no_change`: we already know this (a duplicate, late or older news) — never a move backwards;
 * - `unresolved`: the open attempt is still not settled at the channel (processing, or not found);
 * - `flag`: it contradicts what we recorded in a way no state move can fix: for a person;
 * - `unknown_attempt`: the order id is not one of this recharge's attempts.
 */
export type VerdictDecision =
  | { readonly kind: 'move'; readonly event: RechargeEvent }
  | { readonly kind: 'correct'; readonly event: Extract<RechargeEvent, { type: 'corrected' }> }
  | { readonly kind: 'no_change'; readonly why: string }
  | { readonly kind: 'unresolved'; readonly why: string }
  | { readonly kind: 'flag'; readonly code: 'RECHARGE_EXTRA_TOP_UP' | 'RECHARGE_REVERSED'; readonly why: string }
  | { readonly kind: 'unknown_attempt' };

const orderNo = (v: ChannelVerdict): { channelOrderId?: string } =>
  v.channelOrderId === undefined ? {} : { channelOrderId: v.channelOrderId };

/** Decide, purely, what a channel's verdict about attempt `v.key` does to a recharge in `state`. */
export function decideVerdict(state: RechargeState, v: ChannelVerdict): VerdictDecision {
  if (!state.attempts.some((a) => a.key === v.key)) return { kind: 'unknown_attempt' };
  const open = TERMINAL_RECHARGE_STATUSES.has(state.status) ? undefined : currentAttempt(state);
  if (open?.key === v.key) {
    switch (v.status) {
      case 'succeeded':
        return { kind: 'move', event: { type: 'succeeded', key: v.key, ...orderNo(v) } };
      case 'failed':
        return {
          kind: 'move',
          event: { type: 'failed', key: v.key, code: v.failureCode ?? 'CHANNEL_FAILED', final: v.final === true },
        };
      case 'processing':
        return state.status === 'PROCESSING'
          ? { kind: 'unresolved', why: 'the channel is still processing it' }
          : { kind: 'move', event: { type: 'accepted', key: v.key, ...orderNo(v) } };
      case 'not_found':
        return { kind: 'unresolved', why: 'the channel has no order under this id' };
      default: {
        const never: never = v.status;
        throw new Error(`unknown verdict ${String(never)}`);
      }
    }
  }
  // An attempt that is no longer open (an older one, or the recharge is terminal).
  const delivered = deliveredAttempt(state);
  if (v.status === 'succeeded') {
    if (state.status === 'FAILED') return { kind: 'correct', event: { type: 'corrected', key: v.key, ...orderNo(v) } };
    if (delivered?.key === v.key) return { kind: 'no_change', why: 'already recorded as succeeded' };
    // An attempt we recorded as failed topped the phone up while another one runs or delivered.
    return {
      kind: 'flag',
      code: 'RECHARGE_EXTRA_TOP_UP',
      why: `attempt ${v.key} succeeded at the channel although we had recorded it failed`,
    };
  }
  if (v.status === 'failed' && delivered?.key === v.key) {
    return {
      kind: 'flag',
      code: 'RECHARGE_REVERSED',
      why: `the channel reports attempt ${v.key} failed or reversed after it succeeded`,
    };
  }
  return { kind: 'no_change', why: `already ${state.status}; attempt ${v.key} is not open` };
}
