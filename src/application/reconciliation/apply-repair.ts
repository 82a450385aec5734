import { flagIds, keys } from '../../domain/keys.js';
import { keyOf } from '../../domain/statements/reconcile.js';
import type { RepairRecord } from '../../ports/reconciliations.js';
import type { Repositories } from '../../ports/repositories.js';
import type { Caller } from '../kernel/caller.js';
import type { ChangeSet } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { raiseFlagOnce } from '../kernel/review-flags.js';
import { tx } from '../kernel/tx.js';
import { UseCaseError } from '../kernel/use-case-error.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import { enqueueJob } from '../jobs/job-steps.js';
import { settleOrderNow } from '../rules/order-rules.js';
import { settleRechargeNow } from '../rules/recharge-rules.js';
import { neighbourLines } from './neighbour-lines.js';
import type { StatementSources } from './statement-sources.js';

/** The report item a repair keeps (see `itemDetail`). */
interface Item {
  readonly kind: 'payment' | 'refund' | 'recharge';
  readonly out_trade_no: string;
  readonly out_refund_no: string | null;
  readonly local_amount: number | null;
  readonly channel_amount: number | null;
  readonly local_status: string | null;
  readonly channel_status: string | null;
  readonly resource: { readonly type: string; readonly id: string; readonly tenant_id: string } | null;
}

/** What acting found: its words, whether it worked, and a flag for a person when it could not settle it. */
interface Outcome {
  readonly ok: boolean;
  readonly result: string;
  readonly flag?: string;
}

/**
 * Apply a proposed repair: act outside any transaction (the channel is asked; 补单 goes through
 * the repair rules' and callbacks' own commit paths), then record the decision, version-checked
 * and audited, with the flag for a person when there is one. Applying twice is harmless: every
 * action is idempotent (the same out_refund_no, a flag once per repair, a settle that finds
 * nothing left to settle), and an applied repair is answered as it is.
 */
export async function applyRepair(
  deps: Deps,
  sources: StatementSources,
  caller: Caller,
  repair: RepairRecord,
): Promise<RepairRecord> {
  const item = repair.item as unknown as Item;
  let outcome: Outcome;
  try {
    outcome = await act(deps, sources, caller, repair, item);
  } catch (e) {
    outcome = { ok: false, result: `failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  const now = deps.clock.now();
  const decided = await tx(
    deps.uow,
    { actor: caller.actor, now, requestId: caller.requestId },
    async (r, changes) => {
      const cur = await r.reconciliations.getRepair(repair.id);
      if (cur === undefined) throw new Error(`repair ${repair.id} vanished`);
      if (cur.status === 'applied') return cur;
      const next: RepairRecord = {
        ...cur,
        status: outcome.ok ? 'applied' : 'failed',
        result: outcome.result,
        decidedBy: caller.actor,
        decidedAt: now,
        version: cur.version + 1,
      };
      // Decided by another instance between the read and the write: read again (retried below).
      if (!(await r.reconciliations.updateRepair(next, cur.version)))
        throw new UseCaseError('CONCURRENT_MODIFICATION', `repair ${repair.id} was decided meanwhile`);
      if (outcome.flag !== undefined) await flagFor(r, changes, repair, item, outcome.flag);
      changes.audit(
        'reconciliation_repair',
        repair.tenantId,
        repair.id,
        'reconciliation.repair',
        { status: cur.status },
        { status: next.status, action: repair.action, item_key: repair.itemKey, result: outcome.result },
      );
      return next;
    },
    { retryConflicts: 5 },
  );
  deps.logger.info(
    { repair_id: repair.id, action: repair.action, item_key: repair.itemKey, status: decided.status },
    'reconciliation repair decided',
  );
  return decided;
}

async function act(
  deps: Deps,
  sources: StatementSources,
  caller: Caller,
  repair: RepairRecord,
  item: Item,
): Promise<Outcome> {
  switch (repair.action) {
    case 'flag':
      return { ok: true, result: 'flagged for a person', flag: repair.why };
    case 'settle_from_channel':
      return settle(deps, sources, caller, repair, item);
    case 'refund_unknown_capture': {
      const gateway = sources.gateways.get(repair.source);
      const amount = item.channel_amount;
      if (gateway === undefined || amount === null)
        return { ok: false, result: `gateway ${repair.source} is not configured` };
      const res = await gateway.refund({
        outTradeNo: item.out_trade_no,
        outRefundNo: keys.lateCaptureRefund(item.out_trade_no),
        amount: { amount, currency: 'CNY' },
        total: { amount, currency: 'CNY' },
        reason: 'captured under a number we never sold (reconciliation)',
      });
      if (res.status === 'failed' || res.status === 'not_found') {
        return { ok: false, result: `the gateway refused to give it back (${res.status})` };
      }
      return { ok: true, result: `given back under ${keys.lateCaptureRefund(item.out_trade_no)} (${res.status})` };
    }
    case 'recheck':
      return recheck(deps, sources, repair, item);
    default: {
      const never: never = repair.action;
      throw new Error(`unknown repair ${String(never)}`);
    }
  }
}

/** 补单: settle our record from the channel's truth, through the paths a callback or a repair rule takes. */
async function settle(
  deps: Deps,
  sources: StatementSources,
  caller: Caller,
  repair: RepairRecord,
  item: Item,
): Promise<Outcome> {
  const res = item.resource;
  if (res === null) return { ok: true, result: 'no record of ours to settle', flag: repair.why };
  switch (res.type) {
    case 'payment': {
      const payment = await deps.uow.read.payments.get(res.tenant_id, res.id);
      if (payment === undefined) return { ok: false, result: `payment ${res.id} is not there` };
      return { ok: true, result: await settleOrderNow(deps, res.tenant_id, payment.orderId, caller.actor) };
    }
    case 'recharge': {
      if (sources.recharge === undefined) return { ok: false, result: 'recharge is not configured' };
      return { ok: true, result: await settleRechargeNow(deps, sources.recharge, res.tenant_id, res.id, caller.actor) };
    }
    case 'refund': {
      const refund = await deps.uow.read.refunds.get(res.tenant_id, res.id);
      if (refund === undefined) return { ok: false, result: `refund ${res.id} is not there` };
      if (refund.status !== 'PENDING') {
        return { ok: true, result: `our refund is ${refund.status}: a person settles it`, flag: repair.why };
      }
      if (await deps.uow.read.jobs.hasLive(JOB.executeRefund, refund.id)) {
        return { ok: true, result: 'its refund job is already asking the gateway' };
      }
      await tx(deps.uow, { actor: caller.actor, now: deps.clock.now(), requestId: caller.requestId }, (r, changes) =>
        enqueueJob(
          r,
          deps,
          { tenantId: refund.tenantId, kind: JOB.executeRefund, resourceId: refund.id, priority: PRIORITY.refund },
          changes.meta.now,
        ),
      );
      return { ok: true, result: 'the refund asks the gateway again (same out_refund_no)' };
    }
    default:
      return { ok: true, result: `a ${res.type} is settled by a person`, flag: repair.why };
  }
}

/**
 * T+2: is it on a neighbouring day's statement (the day after's is out by now: our clock and the
 * channel's put it on either side of midnight)? Is it at the channel at all? If so its statement
 * was late; if not, a person looks.
 */
async function recheck(deps: Deps, sources: StatementSources, repair: RepairRecord, item: Item): Promise<Outcome> {
  const key = keyOf({ kind: item.kind, outTradeNo: item.out_trade_no, outRefundNo: item.out_refund_no });
  const near = await neighbourLines(sources, repair.source, repair.businessDate, true, new Set([key]), (date, e) =>
    deps.logger.info(
      { repair_id: repair.id, date, error: e instanceof Error ? e.message : String(e) },
      'neighbouring statement not available for a recheck',
    ),
  ).then((m) => m.get(key));
  if (near !== undefined && near.line.amount === item.local_amount) {
    return { ok: true, result: `on the statement of ${near.date} (the cut-off window)` };
  }
  let says: string;
  if (item.kind === 'recharge') {
    const channel = sources.recharge?.channels.get(repair.source);
    const rec =
      item.resource === null ? undefined : await deps.uow.read.recharges.get(item.resource.tenant_id, item.resource.id);
    if (channel === undefined || rec === undefined)
      return { ok: false, result: 'cannot ask: channel or recharge missing' };
    says = (await channel.query({ orderId: item.out_trade_no, operator: rec.operator })).status;
  } else {
    const gateway = sources.gateways.get(repair.source);
    if (gateway === undefined) return { ok: false, result: `gateway ${repair.source} is not configured` };
    says =
      item.kind === 'refund' && item.out_refund_no !== null
        ? (await gateway.queryRefund(item.out_trade_no, item.out_refund_no)).status
        : (await gateway.query(item.out_trade_no)).status;
  }
  if (says === 'succeeded') return { ok: true, result: 'the channel has it: its statement was late' };
  return {
    ok: true,
    result: `the channel still says ${says}: a person looks`,
    flag: `${repair.why} (channel: ${says})`,
  };
}

function flagFor(r: Repositories, changes: ChangeSet, repair: RepairRecord, item: Item, why: string): Promise<boolean> {
  const subject =
    item.resource === null
      ? { tenantId: repair.tenantId, type: 'reconciliation_repair', id: repair.id }
      : { tenantId: item.resource.tenant_id, type: item.resource.type, id: item.resource.id };
  return raiseFlagOnce(
    r,
    changes,
    flagIds.once(`RECONCILIATION_${repair.id}`),
    subject,
    `RECONCILIATION_${repair.category.toUpperCase()}`,
    {
      repair_id: repair.id,
      source: repair.source,
      date: repair.businessDate,
      item_key: repair.itemKey,
      why,
      local_amount: item.local_amount,
      channel_amount: item.channel_amount,
      local_status: item.local_status,
      channel_status: item.channel_status,
    },
  );
}
