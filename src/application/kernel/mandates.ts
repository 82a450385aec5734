import { claimsMatch, covers, type MandateUse, periodStartOf } from '../../domain/mandate.js';
import type { MandateRecord } from '../../ports/mandates.js';
import type { Repositories } from '../../ports/repositories.js';
import type { Caller } from './caller.js';
import type { ChangeSet } from './change-set.js';
import type { Deps } from './deps.js';

/** What an agent's mandates made of one money action the policy would otherwise hold. */
export type MandateSpend =
  /** Spent from this mandate: the action runs without asking the person. */
  | { readonly kind: 'used'; readonly mandate: MandateRecord }
  /** The agent holds mandates from this person, none covering this: held, and a violation. */
  | { readonly kind: 'outside'; readonly code: string; readonly reason: string; readonly mandateId: string }
  /** Not an agent, or one without any mandate from this person: the plain policy applies. */
  | { readonly kind: 'none' };

/** Of several mandates that do not cover a use, the refusal that says most (the one that came closest). */
const CLOSENESS = [
  'MANDATE_REVOKED',
  'MANDATE_EXPIRED',
  'MANDATE_ACTION_NOT_COVERED',
  'MANDATE_PAYEE_NOT_COVERED',
  'MANDATE_CURRENCY_NOT_COVERED',
  'MANDATE_AMOUNT_EXCEEDED',
  'MANDATE_SIGNATURE_INVALID',
  'MANDATE_BUDGET_EXHAUSTED',
];

/**
 * Inside the deciding transaction, for an agent's money action that the policy would hold for the
 * person: spend it from a mandate the person granted this agent. Each candidate's terms are
 * checked, its signature verified (terms changed behind the service's back spend nothing), and
 * its period's budget spent by one conditional UPDATE — so concurrent uses on any number of
 * instances never spend past it. The spend commits or rolls back with the action; the mandate's
 * audit row names what it paid for.
 */
export async function spendFromMandate(
  r: Repositories,
  changes: ChangeSet,
  deps: Pick<Deps, 'mandateSigner' | 'onMandateViolation' | 'settings' | 'logger'>,
  caller: Caller,
  use: Omit<MandateUse, 'now'> & {
    readonly resource: string;
    /** `resource` is the id of what it pays for: its spend is remembered, to give back if it fails. */
    readonly returnable?: boolean;
  },
): Promise<MandateSpend> {
  if (caller.role !== 'agent' || caller.agentId === undefined) return { kind: 'none' };
  const { now } = changes.meta;
  const held = (await r.mandates.list(caller.tenantId, 'agent', caller.agentId)).filter(
    (m) => m.userId === caller.userId,
  );
  if (held.length === 0) return { kind: 'none' };
  let closest: { code: string; reason: string; mandateId: string } | undefined;
  const missed = (code: string, reason: string, mandateId: string): void => {
    if (closest === undefined || CLOSENESS.indexOf(code) > CLOSENESS.indexOf(closest.code)) {
      closest = { code, reason, mandateId };
    }
  };
  for (const m of held) {
    const c = covers(m, { ...use, now });
    if (!c.ok) {
      missed(c.error.code, c.error.message, m.id);
      continue;
    }
    const claims = await deps.mandateSigner.verify(m.jws);
    if (claims === undefined || !claimsMatch(claims, m)) {
      deps.logger.error({ mandate: m.id }, 'a mandate whose terms do not match its signature was not used');
      missed('MANDATE_SIGNATURE_INVALID', `mandate ${m.id} does not match its signature`, m.id);
      continue;
    }
    const periodStart = periodStartOf(m.period, now, deps.settings.dayOffsetMinutes, m.createdAt);
    if (!(await r.mandates.spend(caller.tenantId, m.id, use.amount, periodStart, now))) {
      missed('MANDATE_BUDGET_EXHAUSTED', `mandate ${m.id} has no budget left for this ${m.period}`, m.id);
      continue;
    }
    changes.audit(
      'mandate',
      caller.tenantId,
      m.id,
      'mandate.spent',
      { spent: m.periodStart === periodStart ? m.spent : 0 },
      {
        action: use.action,
        payee: use.payee,
        amount: use.amount,
        currency: use.currency,
        for: use.resource,
        period_start: new Date(periodStart).toISOString(),
      },
    );
    if (use.returnable === true) {
      await r.mandates.recordSpend({
        tenantId: caller.tenantId,
        resourceId: use.resource,
        mandateId: m.id,
        amount: use.amount,
        periodStart,
        spentAt: now,
      });
    }
    changes.actUnderMandate(m.id);
    return { kind: 'used', mandate: m };
  }
  const why = closest as { code: string; reason: string; mandateId: string };
  changes.afterCommit(() => deps.onMandateViolation(caller, why.code));
  return { kind: 'outside', ...why };
}

/**
 * Inside a transaction that ended `resourceId` without its money moving (an order cancelled or
 * failed, a top-up declined, a recharge failed): give the mandate that paid for it its budget
 * back — once, however many paths end it, and only within the period it was spent in.
 */
export async function returnMandateSpend(
  r: Repositories,
  changes: ChangeSet,
  tenantId: string,
  resourceId: string,
): Promise<void> {
  const spend = await r.mandates.returnSpend(tenantId, resourceId, changes.meta.now);
  if (spend === undefined) return;
  await r.mandates.giveBack(tenantId, spend.mandateId, spend.amount, spend.periodStart);
  changes.audit('mandate', tenantId, spend.mandateId, 'mandate.given_back', null, {
    amount: spend.amount,
    for: resourceId,
    period_start: new Date(spend.periodStart).toISOString(),
  });
}
