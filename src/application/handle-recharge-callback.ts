import type { ErrorCode } from '../domain/result.js';
import type { RechargeCallbackRequest } from '../ports/recharge-channel.js';
import type { Deps } from './context.js';
import type { RechargeRuntime } from './execute-recharge.js';
import { type SettleEffect, settleVerdict, withVersionRetry } from './settle-recharge.js';

/** What to send back to the channel. */
export interface RechargeCallbackReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** What a recharge callback did, for the transport to answer and for tests to check. */
export type RechargeCallbackResult =
  | { readonly accepted: true; readonly effect: SettleEffect | 'duplicate'; readonly rechargeId: string; readonly reply: RechargeCallbackReply }
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
export async function handleRechargeCallback(deps: Deps, rt: RechargeRuntime | undefined, channelName: string, request: RechargeCallbackRequest): Promise<RechargeCallbackResult> {
  const channel = rt?.channels.get(channelName);
  if (channel === undefined) return { accepted: false, code: 'RECHARGE_CHANNEL_NOT_CONFIGURED', message: `no recharge channel named ${channelName}` };
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
    deps.logger.warn({ channel: channelName, order_id: cb.orderId }, 'recharge callback refused: no such order sent through this channel');
    return { accepted: false, code: 'CALLBACK_UNKNOWN_RECHARGE', message: `no recharge attempt ${cb.orderId} was sent through ${channelName}` };
  }
  const inbox = `recharge:${channelName}`;
  const eventId = `${cb.orderId}:${cb.status}`;
  const accept = (effect: SettleEffect | 'duplicate'): RechargeCallbackResult => ({ accepted: true, effect, rechargeId: found.id, reply: cb.reply });
  if (await deps.uow.read.callbacks.seenEvent(inbox, eventId)) return accept('duplicate');

  const verdict = {
    key: cb.orderId,
    status: cb.status,
    channelOrderId: cb.channelOrderId,
    ...(cb.status === 'failed' ? { failureCode: 'CHANNEL_REPORTED_FAILED', final: false } : {}),
  };
  const effect = await withVersionRetry(() =>
    deps.uow.run(async (r) => {
      if (await r.callbacks.seenEvent(inbox, eventId)) return 'duplicate' as const;
      const rec = await r.recharges.get(found.tenantId, found.id);
      if (rec === undefined) throw new Error(`recharge ${found.id} vanished`);
      const now = deps.clock.now();
      const settled = await settleVerdict(r, deps, rec, verdict, { actor: `channel:${channelName}`, now, requestId: null });
      await r.callbacks.recordEvent({ gateway: inbox, eventId, tenantId: rec.tenantId, resourceId: rec.id, outcome: settled.effect, at: now });
      return settled.effect;
    }),
  );
  deps.logger.info({ channel: channelName, recharge_id: found.id, order_id: cb.orderId, verdict: cb.status, effect }, 'recharge callback accepted');
  return accept(effect);
}
