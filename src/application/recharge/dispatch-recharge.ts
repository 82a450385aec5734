import type { Money } from '../../domain/money.js';
import type { OperatorId } from '../../domain/recharge/number-segments.js';
import type { OperatorSettings } from '../../domain/recharge/operator-settings.js';
import {
  createRecharge,
  currentAttempt,
  type RechargeEvent,
  type RechargeState,
  transitionRecharge,
} from '../../domain/recharge/recharge.js';
import type { CallOutcome } from '../../domain/routing/channel-window.js';
import type { Clock } from '../../ports/clock.js';
import {
  type RechargeChannel,
  type RechargeChannelResult,
  type RechargeSubmitRequest,
  RechargeUnknownOutcomeError,
} from '../../ports/recharge-channel.js';
import type { ChannelRouter, Dispatch } from './channel-router.js';

export interface DispatchRechargeDeps {
  readonly router: ChannelRouter;
  readonly channels: ReadonlyMap<string, RechargeChannel>;
  readonly clock: Pick<Clock, 'now'>;
  readonly sleep: (ms: number) => Promise<void>;
  readonly operatorSettings: Readonly<Record<OperatorId, OperatorSettings>>;
  /** First wait before asking a channel about an order again; doubles up to 8×. */
  readonly pollIntervalMs: number;
  /** Stop waiting for a processing order after this long; it stays PROCESSING for later. */
  readonly processingDeadlineMs: number;
  /**
   * Called with every new state, and awaited, before the channel call it leads to: the place
   * where a durable caller records its recovery point (the attempt key is in the state).
   */
  readonly onTransition?: (state: RechargeState) => void | Promise<void>;
  /** Aborted when the caller may no longer drive this recharge (its job's lease was lost): stop asking. */
  readonly signal?: { readonly aborted: boolean };
}

export interface DispatchRechargeInput {
  readonly id: string;
  readonly phone: string;
  readonly amount: Money;
  readonly operator: OperatorId;
  readonly maxAttempts: number;
  /**
   * The state a durable caller recorded before (a retry or a resume after a crash). An attempt
   * left open is first asked about on its own channel — never sent anywhere else.
   */
  readonly from?: RechargeState;
}

export interface DispatchRechargeOutcome {
  /** SUCCEEDED or FAILED; UNKNOWN or PROCESSING when the channel could not tell us in time. */
  readonly state: RechargeState;
  /** Attempts that went to another channel after a definite failure. */
  readonly failovers: number;
  readonly elapsedMs: number;
}

/**
 * Carry one recharge to an outcome across channels, in memory: route, submit, and on a definite
 * failure fail over to a channel not yet tried; on a timeout (UNKNOWN) ask the same channel, as
 * many times as the operator's `retries` allow, and resend there only under the same order id
 * when it says it never got it. Every move goes through the domain state machine.
 */
export async function dispatchRecharge(
  deps: DispatchRechargeDeps,
  input: DispatchRechargeInput,
): Promise<DispatchRechargeOutcome> {
  const startedAt = deps.clock.now();
  let state: RechargeState;
  if (input.from === undefined) {
    const created = createRecharge(input.id, input.maxAttempts);
    if (!created.ok) throw new Error(created.error.message);
    state = created.value;
  } else {
    state = input.from;
  }

  const move = async (event: RechargeEvent): Promise<void> => {
    const r = transitionRecharge(state, event);
    // Every event here follows from the state just read, so a refusal is a bug, not an outcome.
    if (!r.ok) throw new Error(`recharge ${input.id}: ${r.error.message}`);
    state = r.value;
    await deps.onTransition?.(state);
  };

  const tried = new Set<string>(state.attempts.map((a) => a.channel));
  const open = currentAttempt(state);
  if (open !== undefined && state.status !== 'SUCCEEDED') {
    // A submit cut short by a crash may or may not have arrived: that is an unknown outcome.
    if (state.status === 'SUBMITTING') await move({ type: 'timed_out', key: open.key });
    const resumed: Dispatch = {
      channel: open.channel,
      operator: input.operator,
      startedAt: deps.clock.now(),
      probe: false,
    };
    await runAttempt(deps, input, resumed, () => state, move, false);
  }
  while ((state.status === 'CREATED' || state.status === 'AWAITING_FAILOVER') && deps.signal?.aborted !== true) {
    const routed = deps.router.route(input.operator, tried);
    if (!routed.ok) {
      // Every channel is busy with calls of ours: wait for a slot (not a failure of anyone's).
      if (routed.error.details?.saturated === true && deps.clock.now() - startedAt < deps.processingDeadlineMs) {
        await deps.sleep(deps.pollIntervalMs);
        continue;
      }
      await move({ type: 'abandon', reason: routed.error.code });
      break;
    }
    const dispatch = routed.value;
    tried.add(dispatch.channel);
    await move({ type: 'submit', channel: dispatch.channel });
    await runAttempt(deps, input, dispatch, () => state, move);
  }
  const failovers = Math.max(0, state.attempts.length - 1);
  return { state, failovers, elapsedMs: deps.clock.now() - startedAt };
}

/** Drive one attempt until it succeeded, failed, or could not be resolved in time. */
async function runAttempt(
  deps: DispatchRechargeDeps,
  input: DispatchRechargeInput,
  dispatch: Dispatch,
  current: () => RechargeState,
  move: (event: RechargeEvent) => Promise<void>,
  /** False when resuming an attempt routed by an earlier run: ask first, and leave routing's books alone. */
  routed = true,
): Promise<void> {
  const channel = deps.channels.get(dispatch.channel);
  if (channel === undefined) throw new Error(`routing chose ${dispatch.channel}, which is not configured`);
  const key = currentAttempt(current())?.key;
  if (key === undefined) throw new Error('no open attempt');
  const settings = deps.operatorSettings[input.operator];
  let reported = !routed;
  const report = (outcome: CallOutcome): void => {
    if (reported) return;
    reported = true;
    deps.router.complete(dispatch, outcome);
  };

  /** Apply a channel answer; true when the attempt reached its end. */
  const apply = async (res: RechargeChannelResult): Promise<boolean> => {
    switch (res.status) {
      case 'succeeded':
        report('success');
        await move({
          type: 'succeeded',
          key,
          ...(res.channelOrderId === undefined ? {} : { channelOrderId: res.channelOrderId }),
        });
        return true;
      case 'failed':
        report('failure');
        await move({ type: 'failed', key, code: res.failureCode ?? 'CHANNEL_FAILED', final: res.final === true });
        return true;
      case 'processing':
        if (current().status !== 'PROCESSING') {
          await move({
            type: 'accepted',
            key,
            ...(res.channelOrderId === undefined ? {} : { channelOrderId: res.channelOrderId }),
          });
        }
        return false;
      case 'not_found':
        return false;
      default:
        throw new Error(`unexpected channel status ${String(res.status satisfies never)}`);
    }
  };

  const request = { orderId: key, phone: input.phone, amount: input.amount, operator: input.operator };
  try {
    await resolveAttempt(deps, channel, request, settings.retries, current, move, apply, report, routed);
  } finally {
    // Still open when we stop waiting: for routing, the channel did not answer in time.
    report('timeout');
  }
}

async function resolveAttempt(
  deps: DispatchRechargeDeps,
  channel: RechargeChannel,
  request: RechargeSubmitRequest,
  retries: number,
  current: () => RechargeState,
  move: (event: RechargeEvent) => Promise<void>,
  apply: (res: RechargeChannelResult) => Promise<boolean>,
  report: (outcome: CallOutcome) => void,
  submitFirst: boolean,
): Promise<void> {
  const key = request.orderId;
  if (submitFirst) {
    try {
      if (await apply(await channel.submit(request))) return;
    } catch (e) {
      if (!(e instanceof RechargeUnknownOutcomeError)) throw e;
      report('timeout');
      await move({ type: 'timed_out', key });
    }
  }

  // Resolve by asking this channel: an UNKNOWN attempt never goes anywhere else.
  let retriesLeft = retries;
  let wait = deps.pollIntervalMs;
  const deadline = deps.clock.now() + deps.processingDeadlineMs;
  while (deps.clock.now() < deadline) {
    await deps.sleep(wait);
    if (deps.signal?.aborted === true) return;
    wait = Math.min(wait * 2, deps.pollIntervalMs * 8);
    let res: RechargeChannelResult;
    try {
      res = await channel.query({ orderId: key, operator: request.operator });
    } catch (e) {
      if (!(e instanceof RechargeUnknownOutcomeError)) throw e;
      if (retriesLeft-- <= 0) return;
      continue;
    }
    if (res.status === 'not_found') {
      // It never arrived: sending it again under the same order id cannot top up twice.
      if (current().status !== 'UNKNOWN' || retriesLeft-- <= 0) return;
      await move({ type: 'resubmit', key });
      try {
        if (await apply(await channel.submit(request))) return;
      } catch (e) {
        if (!(e instanceof RechargeUnknownOutcomeError)) throw e;
        await move({ type: 'timed_out', key });
      }
      continue;
    }
    if (await apply(res)) return;
  }
}
