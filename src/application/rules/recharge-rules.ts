import { currentAttempt, type RechargeAttempt, TERMINAL_RECHARGE_STATUSES } from '../../domain/recharge/recharge.js';
import type { ChannelVerdict } from '../../domain/recharge/verdict.js';
import { type RechargeRule, ruleMatches } from '../../domain/rules.js';
import { RechargeUnknownOutcomeError } from '../../ports/recharge-channel.js';
import type { JobRecord, RechargeRecord } from '../../ports/records.js';
import { JOB } from '../jobs/job-kinds.js';
import type { JobOutcome } from '../jobs/job-runner.js';
import { completeJob } from '../jobs/job-steps.js';
import { SYSTEM } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import {
  awaitsPayment,
  flagUnresolved,
  type RechargeRuntime,
  requeueRecharge,
  settleVerdict,
  verdictOf,
} from '../recharge/recharge-api.js';
import { sweepStale } from './sweep.js';

/** One sweep over recharges: one `recharge-rule.run` job per stuck recharge state. */
export function sweepRechargeRules(deps: Deps, rules: readonly RechargeRule[], limit: number): Promise<number> {
  return sweepStale(deps, JOB.rechargeRule, rules, (rule, before, after) =>
    deps.uow.read.recharges.findStale(rule.statuses, before, after, limit),
  );
}

/** What the rule found outside (asked before any transaction), and what to do about it. */
interface Finding {
  /** In words, for the audit row and the log. */
  readonly result: string;
  /** The channel's verdict about the attempt, when it gave one. */
  readonly verdict?: ChannelVerdict;
  /** No open attempt: the recharge's job continues from the stored state. */
  readonly requeue?: boolean;
  /** Flag the recharge as unresolved if the verdict does not settle it. */
  readonly flagIfOpen?: boolean;
}

/**
 * Job `recharge-rule.run`: re-check that the rule still applies to the recharge as it is now, ask
 * the channel (outside any transaction), then settle through the same decision and commit as
 * callbacks and the recharge job (`settleVerdict`), audited as the rule, in one transaction.
 */
export function rechargeRuleRunner(
  deps: Deps,
  rules: readonly RechargeRule[],
  rt: RechargeRuntime,
): (job: JobRecord) => Promise<JobOutcome> {
  const byName = new Map(rules.map((r) => [r.name, r]));
  return async (job) => {
    const rule = byName.get(String(job.payload.rule));
    const rec = await deps.uow.read.recharges.get(job.tenantId, job.resourceId);
    // An operator's request (a flag's `settle_from_channel`) does not wait for the rule's age.
    const onRequest = job.payload.on_request === true;
    const actor = onRequest && typeof job.payload.actor === 'string' ? job.payload.actor : SYSTEM.rules;
    if (
      rule === undefined ||
      rec === undefined ||
      rec.version !== job.payload.version ||
      !ruleMatches(rule, { status: rec.state.status, updatedAt: onRequest ? 0 : rec.updatedAt }, deps.clock.now())
    ) {
      // The recharge moved on (or the rule was removed): nothing to repair.
      const now = deps.clock.now();
      await tx(deps.uow, { actor: SYSTEM.rules, now, requestId: null }, (r) => completeJob(r, job, deps, now));
      return { kind: 'done' };
    }
    const finding = await inspect(rule, rec, deps, rt);
    const result = await tx(
      deps.uow,
      { actor, now: deps.clock.now(), requestId: null },
      async (r, changes) => {
        const { now } = changes.meta;
        let cur = await r.recharges.get(rec.tenantId, rec.id);
        if (cur === undefined) throw new Error(`recharge ${rec.id} vanished`);
        let effect = 'no_change';
        if (finding.verdict !== undefined)
          ({ effect, recharge: cur } = await settleVerdict(r, deps, changes, cur, finding.verdict));
        if (finding.requeue === true) effect = (await requeueRecharge(r, deps, cur, now)) ? 'job_queued' : 'job_live';
        // Still open at the channel and untouched since the sweep: the money stays in clearing; a person looks.
        if (
          finding.flagIfOpen === true &&
          cur.version === rec.version &&
          !TERMINAL_RECHARGE_STATUSES.has(cur.state.status)
        ) {
          await flagUnresolved(r, changes, cur, { found_by: rule.name, channel_says: finding.result });
          effect = 'flagged_unresolved';
        }
        changes.audit(
          'recharge',
          rec.tenantId,
          rec.id,
          `rule.${rule.name}`,
          { status: rec.state.status, version: rec.version },
          { action: rule.action, result: finding.result, effect, status: cur.state.status },
        );
        await completeJob(r, job, deps, now);
        return effect;
      },
      // A callback or the job committed first: decide again on the state it left.
      { retryConflicts: 5 },
    );
    deps.logger.info(
      { recharge_id: rec.id, rule: rule.name, result: finding.result, effect: result },
      'recharge repair rule ran',
    );
    return { kind: 'done' };
  };
}

/**
 * Settle a recharge from its channel's truth now — the repair rules' settle (an open recharge)
 * or recheck (a failed one), asked for by reconciliation when the channel's order list says how
 * it ended. Through the same decision and commit as callbacks (`settleVerdict`), audited as `actor`.
 */
export async function settleRechargeNow(
  deps: Deps,
  rt: RechargeRuntime,
  tenantId: string,
  id: string,
  actor: string,
): Promise<string> {
  const rec = await deps.uow.read.recharges.get(tenantId, id);
  if (rec === undefined) return 'the recharge is not there';
  const action =
    rec.state.status === 'SUCCEEDED'
      ? undefined
      : rec.state.status === 'FAILED'
        ? 'recheck_failed_recharge'
        : 'settle_recharge';
  if (action === undefined) return 'nothing to settle: it succeeded';
  const finding = await inspect({ name: 'reconciliation', statuses: [], olderThanMs: 0, action }, rec, deps, rt);
  return tx(
    deps.uow,
    { actor, now: deps.clock.now(), requestId: null },
    async (r, changes) => {
      let cur = await r.recharges.get(rec.tenantId, rec.id);
      if (cur === undefined) throw new Error(`recharge ${rec.id} vanished`);
      let effect = 'no_change';
      if (finding.verdict !== undefined)
        ({ effect, recharge: cur } = await settleVerdict(r, deps, changes, cur, finding.verdict));
      changes.audit(
        'recharge',
        rec.tenantId,
        rec.id,
        'reconciliation.settle',
        { status: rec.state.status, version: rec.version },
        { action, result: finding.result, effect, status: cur.state.status },
      );
      return `${finding.result} (${effect})`;
    },
    { retryConflicts: 5 },
  );
}

async function inspect(rule: RechargeRule, rec: RechargeRecord, deps: Deps, rt: RechargeRuntime): Promise<Finding> {
  switch (rule.action) {
    case 'settle_recharge': {
      if (TERMINAL_RECHARGE_STATUSES.has(rec.state.status)) return { result: 'already settled' };
      if (await deps.uow.read.jobs.hasLive(JOB.executeRecharge, rec.id))
        return { result: 'its job is still working on it' };
      const open = currentAttempt(rec.state);
      if (open === undefined) {
        // Paid by a payment of its own that never completed: nothing to dispatch, nothing in clearing; a person looks.
        if (await awaitsPayment(deps.uow.read, rec)) return { result: 'awaiting its own payment', flagIfOpen: true };
        return { result: 'no open attempt: dispatch continues', requeue: true };
      }
      return { ...(await ask(rt, rec, open)), flagIfOpen: true };
    }
    case 'recheck_failed_recharge': {
      const last = rec.state.attempts.at(-1);
      if (rec.state.status !== 'FAILED' || last === undefined) return { result: 'nothing to check' };
      const found = await ask(rt, rec, last);
      // Only a success changes anything here: anything else, the channel agrees with our record.
      return found.verdict?.status === 'succeeded' ? found : { result: `channel agrees (${found.result})` };
    }
    default: {
      const never: never = rule.action;
      throw new Error(`unknown recharge rule action ${String(never)}`);
    }
  }
}

/** The attempt's channel's view of it; an unknown outcome (timeout, 5xx) is "does not know". */
async function ask(rt: RechargeRuntime, rec: RechargeRecord, attempt: RechargeAttempt): Promise<Finding> {
  const channel = rt.channels.get(attempt.channel);
  if (channel === undefined) return { result: `channel ${attempt.channel} is not configured` };
  try {
    const res = await channel.query({ orderId: attempt.key, operator: rec.operator });
    return { result: `channel says ${res.status}`, verdict: verdictOf(attempt.key, res) };
  } catch (e) {
    if (!(e instanceof RechargeUnknownOutcomeError)) throw e;
    return { result: 'channel did not answer' };
  }
}
