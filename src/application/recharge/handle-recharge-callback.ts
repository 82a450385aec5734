import type { ErrorCode } from '../../domain/result.js';
import type { OperatorId } from '../../domain/recharge/number-segments.js';
import type { ChannelVerdict } from '../../domain/recharge/verdict.js';
import {
  type RechargeCallbackRequest,
  type RechargeChannel,
  RechargeUnknownOutcomeError,
} from '../../ports/recharge-channel.js';
import { SYSTEM } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { type SettleEffect, settleVerdict, verdictOf } from './commit-recharge.js';
import type { RechargeRuntime } from './recharge-runtime.js';

/** What to send back to the channel. */
export interface RechargeCallbackReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** What a recharge callback did, for the transport to answer and for tests to check. */
export type RechargeCallbackResult =
  | {
      readonly accepted: true;
      readonly effect: SettleEffect | 'duplicate';
      readonly rechargeId: string;
      readonly reply: RechargeCallbackReply;
    }
  | { readonly accepted: false; readonly code: ErrorCode; readonly message: string };

/**
 * A recharge channel's asynchronous result: the channel verifies it (`parseCallback`: forged or
 * malformed → refused, nothing changes, logged without the parameters); the order id leads to the
 * recharge and its attempt; the verdict goes through the same decision and commit as the job and
 * the repair rules (`settleVerdict`), de-duplicated on (channel, order id, verdict) in the same
 * transaction. Duplicates, older news and a verdict we already hold are acknowledged so the
 * channel stops re-sending; nothing ever moves backwards; a success for a recharge we recorded
 * FAILED is corrected (money taken back, flagged for review).
 */
export async function handleRechargeCallback(
  deps: Deps,
  rt: RechargeRuntime | undefined,
  channelName: string,
  request: RechargeCallbackRequest,
): Promise<RechargeCallbackResult> {
  const channel = rt?.channels.get(channelName);
  if (channel === undefined)
    return {
      accepted: false,
      code: 'RECHARGE_CHANNEL_NOT_CONFIGURED',
      message: `no recharge channel named ${channelName}`,
    };
  const parsed = channel.parseCallback(request);
  if (!parsed.ok) {
    // Only the code: the parameters hold a phone number or a signature we do not log.
    deps.logger.warn({ channel: channelName, code: parsed.error.code }, 'recharge callback refused');
    return { accepted: false, code: parsed.error.code, message: parsed.error.message };
  }
  const cb = parsed.value;
  const found = await deps.uow.read.recharges.getByAttemptKey(cb.orderId);
  const attempt = found?.state.attempts.find((a) => a.key === cb.orderId);
  if (found === undefined || attempt?.channel !== channelName) {
    deps.logger.warn(
      { channel: channelName, order_id: cb.orderId },
      'recharge callback refused: no such order sent through this channel',
    );
    return {
      accepted: false,
      code: 'CALLBACK_UNKNOWN_RECHARGE',
      message: `no recharge attempt ${cb.orderId} was sent through ${channelName}`,
    };
  }
  const inbox = `recharge:${channelName}`;
  const eventId = `${cb.orderId}:${cb.status}`;
  const accept = (effect: SettleEffect | 'duplicate'): RechargeCallbackResult => ({
    accepted: true,
    effect,
    rechargeId: found.id,
    reply: cb.reply,
  });
  if (await deps.uow.read.callbacks.seenEvent(inbox, eventId)) return accept('duplicate');

  let verdict: ChannelVerdict = {
    key: cb.orderId,
    status: cb.status,
    channelOrderId: cb.channelOrderId,
    ...(cb.status === 'failed' ? { failureCode: 'CHANNEL_REPORTED_FAILED', final: false } : {}),
  };
  if (cb.confirmByQuery === true) {
    // The signature vouches for the order, not for the result: the channel's own answer decides.
    const confirmed = await confirm(deps, channel, found.operator, verdict);
    if (confirmed === undefined) {
      return {
        accepted: false,
        code: 'CALLBACK_UNCONFIRMED',
        message: `${channelName} could not confirm the result of ${cb.orderId} yet; send it again later`,
      };
    }
    verdict = confirmed;
  }
  // Claimed first (insert, then branch): of concurrent deliveries exactly one settles; a version
  // conflict with the job or a rule is decided again on fresh state.
  const effect = await tx(
    deps.uow,
    { actor: SYSTEM.channel(channelName), now: deps.clock.now(), requestId: null },
    async (r, changes): Promise<SettleEffect | 'duplicate'> => {
      const claimed = await r.callbacks.recordEvent({
        gateway: inbox,
        eventId,
        tenantId: found.tenantId,
        resourceId: found.id,
        outcome: verdict.status,
        at: changes.meta.now,
      });
      if (!claimed) return 'duplicate';
      const rec = await r.recharges.get(found.tenantId, found.id);
      if (rec === undefined) throw new Error(`recharge ${found.id} vanished`);
      return (await settleVerdict(r, deps, changes, rec, verdict)).effect;
    },
    { retryConflicts: 5 },
  );
  deps.logger.info(
    { channel: channelName, recharge_id: found.id, order_id: cb.orderId, verdict: cb.status, effect },
    'recharge callback accepted',
  );
  return accept(effect);
}

/**
 * Ask the channel for the attempt's result (outside any transaction). Its settled answer wins over
 * the callback's claim; undefined when it has none yet (still processing, not found, no answer).
 */
async function confirm(
  deps: Deps,
  channel: RechargeChannel,
  operator: OperatorId,
  claimed: ChannelVerdict,
): Promise<ChannelVerdict | undefined> {
  try {
    const res = await channel.query({ orderId: claimed.key, operator });
    if (res.status !== 'succeeded' && res.status !== 'failed') return undefined;
    if (res.status !== claimed.status)
      deps.logger.warn(
        { channel: channel.name, order_id: claimed.key, claimed: claimed.status, channel_says: res.status },
        'recharge callback contradicted by the channel: its query answer applies',
      );
    return verdictOf(claimed.key, res);
  } catch (e) {
    if (e instanceof RechargeUnknownOutcomeError) return undefined;
    throw e;
  }
}
