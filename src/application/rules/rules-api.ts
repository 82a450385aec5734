import { err, ok, type Result } from '../../domain/result.js';
import type { RechargeRule, Rule } from '../../domain/rules.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import { enqueueLeased } from '../jobs/job-steps.js';
import type { JobHandler } from '../jobs/job-runner.js';
import type { Runtime } from '../jobs/runtime.js';
import type { RechargeRuntime } from '../recharge/recharge-api.js';
import { orderRuleRunner, sweepOrderRules } from './order-rules.js';
import { rechargeRuleRunner, sweepRechargeRules } from './recharge-rules.js';
import { sweepUnpaidTopUps, UNPAID_TOP_UP_RULE, unpaidTopUpRunner } from './top-up-rules.js';
import type { Caller } from '../kernel/caller.js';
import { tx } from '../kernel/tx.js';
import { waitAwhile } from '../kernel/run-and-wait.js';

export { UNPAID_TOP_UP_RULE } from './top-up-rules.js';

/** A repair an operator asks for now, instead of waiting for its rule's age. */
export type RepairNow =
  /** Close a payment's trade at its gateway and fail it (a recharge it pays ends): the unpaid expiry. */
  | { readonly kind: 'close_trade'; readonly topUpId: string }
  /** Ask a recharge's channel now and settle it by the answer: `settle-unknown-recharge`. */
  | { readonly kind: 'settle_from_channel'; readonly rechargeId: string };

/** Repair rules: what finds stuck or contradictory orders and recharges and settles them. */
export interface RulesApi {
  /** Look for stuck orders and recharges now and queue the repairs (the timer calls this; tests call it directly). */
  sweep(): Promise<number>;
  /**
   * Run one repair now, audited as the caller, through the same job and commit as its rule; the
   * answer comes once it ran (or the request's wait ran out: it goes on durably). Refused with
   * FLAG_ACTION_NOT_OFFERED when the subject is not in a state the repair applies to.
   */
  repairNow(caller: Caller, what: RepairNow): Promise<Result<{ readonly job: string }>>;
  /** Sweep every `intervalMs` (0 = never on a timer) until `stop`. */
  start(): void;
  stop(): void;
}

export interface RulesSettings {
  readonly orderRules: readonly Rule[];
  readonly rechargeRules: readonly RechargeRule[];
  /**
   * Top-ups and recharges' own payments still unpaid this long are closed at the gateway and
   * failed (`expire-unpaid-top-up`); undefined = never.
   */
  readonly unpaidTopUpMs?: number;
  /** How often the rules look (0 = never on a timer), and how many subjects per rule per sweep. */
  readonly sweepIntervalMs: number;
  readonly sweepLimit: number;
}

export function createRules(
  runtime: Runtime,
  rt: RechargeRuntime | undefined,
  settings: RulesSettings,
): { readonly api: RulesApi; readonly jobs: Record<string, JobHandler> } {
  const { deps, runner } = runtime;
  const rechargeRules = rt === undefined ? [] : settings.rechargeRules;
  let cancel: (() => void) | undefined;
  const api: RulesApi = {
    async sweep() {
      const limit = settings.sweepLimit;
      const unpaid = settings.unpaidTopUpMs;
      const queued =
        (await sweepOrderRules(deps, settings.orderRules, limit)) +
        (await sweepRechargeRules(deps, rechargeRules, limit)) +
        (unpaid === undefined ? 0 : await sweepUnpaidTopUps(deps, unpaid, limit));
      if (queued > 0) runner.wake();
      return queued;
    },
    async repairNow(caller, what) {
      const read = deps.uow.read;
      const subject =
        what.kind === 'close_trade'
          ? await read.topUps.get(caller.tenantId, what.topUpId)
          : await read.recharges.get(caller.tenantId, what.rechargeId);
      const due =
        subject !== undefined &&
        (what.kind === 'close_trade'
          ? 'status' in subject && subject.status === 'PENDING'
          : 'state' in subject && rechargeRules.some((r) => r.action === 'settle_recharge'));
      if (subject === undefined || !due) {
        return err('FLAG_ACTION_NOT_OFFERED', `${what.kind} does not apply to what the flag is about as it is now`);
      }
      const rule =
        what.kind === 'close_trade'
          ? UNPAID_TOP_UP_RULE
          : (rechargeRules.find((r) => r.action === 'settle_recharge')?.name ?? '');
      const now = deps.clock.now();
      const job = await tx(deps.uow, { actor: caller.actor, now, requestId: caller.requestId }, (r) =>
        enqueueLeased(
          r,
          deps,
          {
            tenantId: caller.tenantId,
            kind: what.kind === 'close_trade' ? JOB.topUpRule : JOB.rechargeRule,
            resourceId: subject.id,
            priority: PRIORITY.pay,
            payload: { rule, version: subject.version, on_request: true, actor: caller.actor },
          },
          now,
        ),
      );
      await waitAwhile(runner.runLeased({ job }), runtime.waitForCompletionMs);
      return ok({ job: job.id });
    },
    start() {
      const every = settings.sweepIntervalMs;
      const count = settings.orderRules.length + rechargeRules.length + (settings.unpaidTopUpMs === undefined ? 0 : 1);
      if (every <= 0 || cancel !== undefined || count === 0) return;
      const tick = (): void => {
        api
          .sweep()
          .catch((e: unknown) => deps.logger.error({ err: e }, 'repair-rule sweep failed'))
          .finally(() => {
            if (cancel !== undefined) cancel = deps.clock.schedule(every, tick);
          });
      };
      cancel = deps.clock.schedule(every, tick);
    },
    stop() {
      const c = cancel;
      cancel = undefined;
      c?.();
    },
  };
  return {
    api,
    jobs: {
      [JOB.orderRule]: orderRuleRunner(deps, settings.orderRules),
      // Registered whatever the settings: a run queued before the expiry was turned off finishes as a no-op.
      [JOB.topUpRule]: unpaidTopUpRunner(deps, settings.unpaidTopUpMs ?? Number.POSITIVE_INFINITY),
      ...(rt === undefined ? {} : { [JOB.rechargeRule]: rechargeRuleRunner(deps, settings.rechargeRules, rt) }),
    },
  };
}
