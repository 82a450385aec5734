import type { RechargeStatus } from '../../domain/recharge/recharge.js';
import { can } from '../../domain/auth/permissions.js';
import { err, ok, type Result } from '../../domain/result.js';
import type { HeldActionRecord } from '../../ports/held-actions.js';
import type { RechargeCallbackRequest } from '../../ports/recharge-channel.js';
import { JOB } from '../jobs/job-kinds.js';
import type { JobHandler } from '../jobs/job-runner.js';
import type { Runtime } from '../jobs/runtime.js';
import { type AuditFeed, type ResourceFeed, resourceFeed } from '../kernel/audit-feed.js';
import type { Caller } from '../kernel/caller.js';
import type { IdempotencyRef } from '../kernel/idempotency.js';
import { type Confirmed, heldOrMade, type HeldView, toHeldView } from '../kernel/holds.js';
import { canSee } from '../kernel/ownership.js';
import { waitAwhile } from '../kernel/run-and-wait.js';
import type { ChannelHealth, ChannelRouter, ChannelTimeline } from './channel-router.js';
import { executeRecharge } from './execute-recharge.js';
import { handleRechargeCallback, type RechargeCallbackResult } from './handle-recharge-callback.js';
import { payRecharge } from './pay-recharge.js';
import { type RechargeRuntime } from './recharge-runtime.js';
import { type RechargeView, toRechargeView } from './recharge-view.js';
import { refundRechargePayment } from './refund-recharge-payment.js';
import { type RechargeRequest, requestRecharge } from './request-recharge.js';

export {
  ChannelRouter,
  DEFAULT_ROUTER_SETTINGS,
  type ChannelHealth,
  type ChannelTimeline,
  type RouterSettings,
} from './channel-router.js';
export { dispatchRecharge, type DispatchRechargeDeps, type DispatchRechargeOutcome } from './dispatch-recharge.js';
export {
  awaitsPayment,
  flagUnresolved,
  requeueRecharge,
  settleVerdict,
  verdictOf,
  type SettleEffect,
} from './commit-recharge.js';
export { checkRecharge, reserveAndCreate, type CheckedRecharge, type RechargeRequest } from './request-recharge.js';
export type { RechargeRuntime } from './recharge-runtime.js';
export { commitRechargeCharge } from './pay-recharge.js';
export type { RechargeView } from './recharge-view.js';
export type { RechargeCallbackResult } from './handle-recharge-callback.js';

/** How a recharge request stands when the answer is due (HTTP: 201 / 202 / 422). */
export type RechargeOutcome =
  /** Held by the policy: nothing reserved or charged until the person confirms (HTTP 202). */
  | { readonly kind: 'held'; readonly held: HeldView }
  | { readonly kind: 'succeeded'; readonly recharge: RechargeView }
  | { readonly kind: 'in_progress'; readonly recharge: RechargeView; readonly next: string }
  | { readonly kind: 'failed'; readonly recharge: RechargeView };

/** Phone recharges: from the wallet or paid directly, routed across channels, settled once. */
export interface RechargeApi {
  /**
   * Recharge a phone: `{ phone, amount }` (amount in fen, a face value). The amount is reserved
   * at once; the recharge runs as a durable job and the answer says where it stands after the
   * configured wait (still running = `in_progress`; poll `get`).
   */
  request(caller: Caller, req: RechargeRequest, idem?: IdempotencyRef): Promise<Result<RechargeOutcome>>;
  /** Run a recharge the person confirmed (its hold is taken in the same transaction). */
  runConfirmed(caller: Caller, held: HeldActionRecord, confirmed: Confirmed): Promise<Result<RechargeOutcome>>;
  /** A recharge the caller may see (their own; any of the tenant's for operators). */
  get(caller: Caller, id: string): Promise<Result<RechargeView>>;
  /**
   * The recharges the caller may see (their own; the tenant's for operators and viewers), newest
   * first, filtered; `next_cursor` continues the list.
   */
  list(caller: Caller, q: ListRechargesQuery): Promise<RechargePage>;
  /** Where a recharge stands, as the outcome a request reports (also used after crash recovery). */
  outcomeOf(caller: Caller, id: string): Promise<Result<RechargeOutcome>>;
  /** A recharge channel's signed result notification (verified, de-duplicated, never backwards). */
  handleCallback(channel: string, request: RechargeCallbackRequest): Promise<RechargeCallbackResult>;
  /** Recharge channels as routing sees them: score, window stats, breaker, load. */
  channels(): ChannelHealth[];
  /**
   * This instance's bounded history of every channel (buckets after `since`, ms since epoch),
   * with the routing weights; null when recharging is not configured.
   */
  channelHistory(since?: number): ChannelHistoryView | null;
}

/** Live recharge changes for whoever watches (the console's recharges list). */
export type RechargeFeed = ResourceFeed<RechargeView>;

/**
 * Recharge changes from the audit feed, each looked up as each watcher may see it. Only the
 * recharge's own steps (`recharge.*`) are changes: the notice sent to its person afterwards
 * (`notice.sent`) changes nothing, and as the newest row of a read it stood in for the step it
 * followed, so a watcher was told `notice.sent` where the recharge had just succeeded.
 */
export function createRechargeFeed(
  feed: AuditFeed,
  get: (caller: Caller, id: string) => Promise<Result<RechargeView>>,
): RechargeFeed {
  return resourceFeed(
    feed,
    (a) => (a.resourceType === 'recharge' && a.action.startsWith('recharge.') ? a.resourceId : undefined),
    get,
  );
}

/** Filters of the recharges list; all optional. */
export interface ListRechargesQuery {
  readonly status?: readonly RechargeStatus[];
  /** The channel of the current (or last) attempt. */
  readonly channel?: string;
  readonly phone?: string;
  readonly batchId?: string;
  /** Only this person's (operators); a person's list is always their own. */
  readonly userId?: string;
  readonly cursor?: string;
  readonly limit: number;
}

export interface RechargePage {
  readonly data: readonly RechargeView[];
  readonly next_cursor: string | null;
}

/** Store pages read at most for one page of a channel-filtered list (the channel is not a column). */
const CHANNEL_SCAN_PAGES = 5;

/** What GET /api/v1/channels/history shows. */
export interface ChannelHistoryView {
  readonly bucketMs: number;
  readonly strategy: ChannelRouter['weights']['strategy'];
  readonly weights: ChannelRouter['weights']['score'];
  readonly sharpness: number;
  readonly channels: readonly ChannelTimeline[];
}

/** Phone recharge; `rt` absent = not configured (requests answer NO_CHANNEL_AVAILABLE). */
export function createRecharge(
  runtime: Runtime,
  rt: RechargeRuntime | undefined,
): { readonly api: RechargeApi; readonly jobs: Record<string, JobHandler> } {
  const { deps, runner } = runtime;
  const get = async (caller: Caller, id: string): Promise<Result<RechargeView>> => {
    const r = await deps.uow.read.recharges.get(caller.tenantId, id);
    if (r === undefined || !canSee(caller, r.userId)) return err('RECHARGE_NOT_FOUND', `no recharge ${id}`);
    const payment = r.topUpId === undefined ? undefined : await deps.uow.read.topUps.get(r.tenantId, r.topUpId);
    return ok(toRechargeView(r, payment));
  };
  const list = async (caller: Caller, q: ListRechargesQuery): Promise<RechargePage> => {
    const read = deps.uow.read.recharges;
    // A person's list is their own, whatever they filter on; operators filter the tenant's.
    const userId = can(caller.role, 'tenant.read_all') ? q.userId : caller.userId;
    const out: RechargeView[] = [];
    let before = q.cursor;
    for (let page = 0; page < (q.channel === undefined ? 1 : CHANNEL_SCAN_PAGES); page += 1) {
      const want = q.limit - out.length;
      const rows = await read.list({
        tenantId: caller.tenantId,
        ...(userId === undefined ? {} : { userId }),
        ...(q.status === undefined ? {} : { status: q.status }),
        ...(q.phone === undefined ? {} : { phone: q.phone }),
        ...(q.batchId === undefined ? {} : { batchId: q.batchId }),
        ...(before === undefined ? {} : { beforeId: before }),
        limit: want,
      });
      for (const r of rows) {
        before = r.id;
        const v = toRechargeView(r);
        if (q.channel === undefined || v.channel === q.channel) out.push(v);
      }
      if (rows.length < want) return { data: out, next_cursor: null };
      if (out.length >= q.limit) break;
    }
    return { data: out, next_cursor: before ?? null };
  };
  const outcomeOf = (caller: Caller, id: string): Promise<Result<RechargeOutcome>> =>
    heldOrMade(deps, caller, id, async (made): Promise<Result<RechargeOutcome>> => {
      const r = await get(caller, made);
      if (!r.ok) return r;
      const v = r.value;
      if (v.status === 'SUCCEEDED') return ok({ kind: 'succeeded', recharge: v });
      if (v.status === 'FAILED') return ok({ kind: 'failed', recharge: v });
      return ok({ kind: 'in_progress', recharge: v, next: `in progress: poll GET /api/v1/recharges/${v.id}` });
    });
  const run = async (
    caller: Caller,
    req: RechargeRequest,
    idem: IdempotencyRef | undefined,
    confirmed?: Confirmed,
  ): Promise<Result<RechargeOutcome>> => {
    if (rt === undefined) return err('NO_CHANNEL_AVAILABLE', 'phone recharge is not configured');
    const requested = await requestRecharge(deps, rt, caller, req, idem, confirmed);
    if (!requested.ok) return requested;
    const made = requested.value;
    if (made.kind === 'held') return ok({ kind: 'held', held: toHeldView(made.held) });
    await waitAwhile(runner.runLeased({ job: made.job }), runtime.waitForCompletionMs);
    return outcomeOf(caller, made.recharge.id);
  };
  return {
    api: {
      request: (caller, req, idem) => run(caller, req, idem),
      runConfirmed: (caller, held, confirmed) =>
        run(
          caller,
          {
            phone: held.params.phone,
            amount: held.params.amount,
            pay: held.params.pay === 'direct' ? 'direct' : 'wallet',
          },
          undefined,
          confirmed,
        ),
      get,
      list,
      outcomeOf,
      async handleCallback(channel, request) {
        const r = await handleRechargeCallback(deps, rt, channel, request);
        // A failure that left the recharge awaiting failover queued its job again.
        if (r.accepted && r.effect === 'applied') runner.wake();
        return r;
      },
      channels: () => rt?.router.health() ?? [],
      channelHistory(since) {
        if (rt === undefined) return null;
        const w = rt.router.weights;
        return {
          bucketMs: rt.router.historyBucketMs,
          strategy: w.strategy,
          weights: w.score,
          sharpness: w.sharpness,
          channels: rt.router.history(since),
        };
      },
    },
    jobs: {
      // Money already taken is charged and given back whether or not recharging is configured now.
      [JOB.payRecharge]: (job) => payRecharge(deps, job),
      [JOB.refundRechargePayment]: (job) => refundRechargePayment(deps, job),
      ...(rt === undefined ? {} : { [JOB.executeRecharge]: (job, run) => executeRecharge(deps, rt, job, run) }),
    },
  };
}
