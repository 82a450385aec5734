import { eventFromAudit, matchesFilter, type WebhookEvent } from '../../domain/webhooks.js';
import type { AuditRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import type { AuditKey, WebhookSubscriptionRecord } from '../../ports/webhooks.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import { enqueueOnce } from '../jobs/job-steps.js';
import type { Deps } from '../kernel/deps.js';
import { settledAfter } from '../kernel/settled-audit.js';
import { tx } from '../kernel/tx.js';
import { addressEvent } from './address-event.js';

/** Another instance moved the cursor first: this attempt's deliveries roll back with it. */
class CursorMoved extends Error {
  override readonly name = 'CursorMoved';
}

/** The recharge moves that end one (a correction turns a failure into a success): the person is told. */
const RECHARGE_ENDINGS = new Set(['recharge.succeeded', 'recharge.failed', 'recharge.corrected']);

export interface DispatchSettings {
  /** Audit rows read per round. */
  readonly batch: number;
  /** Whether the person is told how each recharge ended (a notify job per ending). */
  readonly notifyRecharges: boolean;
}

/**
 * THE transactional outbox, for free: every state change already writes its audit row in its own
 * transaction, so an event exists exactly when its change committed. One round reads the rows
 * after the cursor, and in ONE transaction moves the cursor (compare-and-set: of several
 * instances, one wins; the others' attempts roll back whole) and addresses each row's event to
 * every matching enabled endpoint of its tenant (insert first on UNIQUE(endpoint, event)).
 *
 * Only rows no earlier row can still appear before are taken (`settledAuditAfter`).
 *
 * When no endpoint is enabled, only the rows' keys are read (what the recharge notices need and
 * the cursor's move), not their content: the dispatcher of a service without webhooks costs an
 * index read per row, not a row's parse.
 *
 * Returns how many audit rows the round handled (0: nothing new).
 */
export async function dispatchRound(deps: Deps, settings: DispatchSettings): Promise<number> {
  const read = deps.uow.read.webhooks;
  const from = await read.cursor();
  // Asked before the rows, as it was asked before the transaction: an endpoint enabled after
  // the answer starts with the rows after this round's, as it would one round later.
  const anyone = await read.anyEnabled();
  const whole = anyone ? await settledAfter(deps, from, settings.batch, (f, l) => read.auditAfter(f, l)) : undefined;
  const rows: readonly AuditKey[] =
    whole ?? (await settledAfter(deps, from, settings.batch, (f, l) => read.auditKeysAfter(f, l)));
  if (rows.length === 0) return 0;
  const to = rows.at(-1)!.id;
  const now = deps.clock.now();
  try {
    await tx(deps.uow, { actor: 'system:webhooks', now, requestId: null }, async (r) => {
      if (!(await r.webhooks.moveCursor(from, to, now))) throw new CursorMoved();
      if (whole !== undefined) await addressRows(r, deps, whole, now);
      if (settings.notifyRecharges) {
        for (const a of rows) {
          if (a.resourceType !== 'recharge' || !RECHARGE_ENDINGS.has(a.action)) continue;
          await enqueueOnce(
            r,
            deps,
            {
              id: `ntf_${a.id}`,
              tenantId: a.tenantId,
              kind: JOB.notifyRecharge,
              resourceId: a.resourceId,
              priority: PRIORITY.notify,
              payload: { seq: a.id },
            },
            now,
          );
        }
      }
    });
  } catch (e) {
    if (e instanceof CursorMoved) return 0;
    throw e;
  }
  return rows.length;
}

async function addressRows(r: Repositories, deps: Deps, rows: readonly AuditRecord[], now: number): Promise<void> {
  const tenants = [...new Set(rows.map((a) => a.tenantId))];
  const subs = await r.webhooks.enabledSubscriptions(tenants);
  if (subs.length === 0) return;
  const byTenant = new Map<string, WebhookSubscriptionRecord[]>();
  for (const s of subs) byTenant.set(s.tenantId, [...(byTenant.get(s.tenantId) ?? []), s]);
  for (const a of rows) {
    const mine = byTenant.get(a.tenantId) ?? [];
    if (mine.length === 0) continue;
    const events: WebhookEvent[] = [];
    const e = eventFromAudit(a);
    if (e !== undefined) events.push(e);
    if (
      a.resourceType === 'recharge' &&
      RECHARGE_ENDINGS.has(a.action) &&
      mine.some((s) => matchesFilter(s.events, 'batch.completed'))
    ) {
      const done = await batchCompleted(r, a);
      if (done !== undefined) events.push(done);
    }
    for (const ev of events)
      for (const s of mine) if (matchesFilter(s.events, ev.type)) await addressEvent(r, deps, s, ev, now);
  }
}

/**
 * `batch.completed`, when this recharge's ending was its batch's last: every row turned into a
 * recharge and every recharge ended at or before this audit row (so its `seq` follows every row's
 * ending, which `batchRowsBusy` relies on). Its id is the batch's, so the endings of its last recharges
 * seen together address it once.
 */
async function batchCompleted(r: Repositories, a: AuditRecord): Promise<WebhookEvent | undefined> {
  const rec = await r.recharges.get(a.tenantId, a.resourceId);
  if (rec?.batchId === null || rec?.batchId === undefined) return undefined;
  const batch = await r.recharges.getBatch(a.tenantId, rec.batchId);
  if (batch?.status !== 'accepted') return undefined;
  if (batch.pendingRows > 0) return undefined;
  const byStatus = await r.recharges.countByBatch(a.tenantId, batch.id);
  const succeeded = byStatus.SUCCEEDED ?? 0;
  const failed = byStatus.FAILED ?? 0;
  const total = Object.values(byStatus).reduce((x, y) => x + y, 0);
  if (succeeded + failed !== total) return undefined;
  // Ended by now is not ended by this row: the last ending may have committed after it (PostgreSQL).
  if ((await r.webhooks.batchRechargesEndedBy(a.tenantId, batch.id, a.id)) !== total) return undefined;
  return {
    id: `evt_b${batch.id}`,
    tenantId: a.tenantId,
    type: 'batch.completed',
    lane: `recharge_batch:${batch.id}`,
    seq: a.id,
    at: a.at,
    data: {
      id: batch.id,
      rows: batch.rows,
      valid_rows: batch.validRows,
      rejected_rows: batch.rejectedRows,
      recharges: total,
      succeeded,
      failed,
    },
  };
}
