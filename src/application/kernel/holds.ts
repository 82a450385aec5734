import { createHash } from 'node:crypto';
import { canonicalJson } from '../../domain/canonical-json.js';
import type { HeldActionRecord, HeldShown } from '../../ports/held-actions.js';
import type { Repositories } from '../../ports/repositories.js';
import { decideSpend, MONEY_ACTIONS, type MoneyAction } from '../../domain/policy.js';
import { err, ok, type Result } from '../../domain/result.js';
import type { Caller } from './caller.js';
import type { ChangeSet } from './change-set.js';
import type { Deps } from './deps.js';
import { canSee } from './ownership.js';
import { spendFromMandate } from './mandates.js';
import { spentToday } from './spending.js';
import { UseCaseError } from './use-case-error.js';

/** What a capability asks to hold: the action exactly as it will run, and what the person sees. */
export interface HoldRequest {
  readonly action: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly shown: HeldShown;
  readonly reason: string;
}

/** A held action as the API shows it: what will run, and how to confirm exactly that. */
export interface HeldView {
  readonly id: string;
  readonly action: string;
  readonly status: HeldActionRecord['status'];
  readonly what: string;
  readonly amount: number;
  readonly currency: string;
  readonly payee: string;
  readonly method: string;
  readonly count?: number;
  readonly reason: string;
  /** Name it when confirming: a confirm for anything else is refused. */
  readonly digest: string;
  readonly requested_by: string;
  readonly decided_by: string | null;
  readonly result_id: string | null;
  readonly created_at: string;
  readonly expires_at: string;
  readonly confirm: { readonly method: 'POST'; readonly path: string; readonly body: { readonly digest: string } };
}

/**
 * The digest a confirmation names: over the action, every parameter that will run and
 * everything the person was shown (amount, currency, payee, method). A later, different
 * proposal has a different digest, so an earlier "yes" can never run it.
 */
export function digestOf(action: string, params: Readonly<Record<string, unknown>>, shown: HeldShown): string {
  return createHash('sha256').update(canonicalJson({ action, params, shown })).digest('base64url');
}

/** A held action the caller may see, as the API shows it (another person's does not exist). */
export async function heldFor(deps: Pick<Deps, 'uow'>, caller: Caller, id: string): Promise<Result<HeldView>> {
  const h = await deps.uow.read.held.get(caller.tenantId, id);
  return h === undefined || !canSee(caller, h.userId)
    ? err('CONFIRMATION_NOT_FOUND', `no held action ${id}`)
    : ok(toHeldView(h));
}

/**
 * Where a request that may have been held stands, from its recovery point: the hold (an `hld_` id)
 * the caller may see, or what the request made, as `made` reads it.
 */
export async function heldOrMade<T>(
  deps: Pick<Deps, 'uow'>,
  caller: Caller,
  id: string,
  made: (id: string) => Promise<Result<T>>,
): Promise<Result<{ readonly kind: 'held'; readonly held: HeldView } | T>> {
  if (!id.startsWith('hld_')) return made(id);
  const h = await heldFor(deps, caller, id);
  return h.ok ? ok({ kind: 'held', held: h.value } as const) : h;
}

export function toHeldView(h: HeldActionRecord): HeldView {
  return {
    id: h.id,
    action: h.action,
    status: h.status,
    what: h.shown.what,
    amount: h.shown.amount,
    currency: h.shown.currency,
    payee: h.shown.payee,
    method: h.shown.method,
    ...(h.shown.count === undefined ? {} : { count: h.shown.count }),
    reason: h.reason,
    digest: h.digest,
    requested_by: h.requestedBy,
    decided_by: h.decidedBy,
    result_id: h.resultId,
    created_at: new Date(h.createdAt).toISOString(),
    expires_at: new Date(h.expiresAt).toISOString(),
    confirm: { method: 'POST', path: `/api/v1/confirmations/${h.id}`, body: { digest: h.digest } },
  };
}

/**
 * Inside the caller's transaction: hold a money action for the person (the policy said so).
 * It waits as long as an unconfirmed order does, then lapses.
 */
export async function holdAction(
  r: Repositories,
  changes: ChangeSet,
  deps: Pick<Deps, 'ids' | 'settings'>,
  caller: Caller,
  req: HoldRequest,
): Promise<HeldActionRecord> {
  const { now } = changes.meta;
  const held: HeldActionRecord = {
    id: deps.ids.next('hld'),
    tenantId: caller.tenantId,
    userId: caller.userId,
    action: req.action,
    params: req.params,
    shown: req.shown,
    digest: digestOf(req.action, req.params, req.shown),
    reason: req.reason,
    status: 'AWAITING',
    requestedBy: caller.actor,
    decidedBy: null,
    resultId: null,
    createdAt: now,
    expiresAt: now + deps.settings.unpaidTimeoutMs,
    decidedAt: null,
  };
  await r.held.insert(held);
  changes.audit('held_action', caller.tenantId, held.id, 'held_action.created', null, {
    action: held.action,
    amount: held.shown.amount,
    currency: held.shown.currency,
    payee: held.shown.payee,
    method: held.shown.method,
    reason: held.reason,
    digest: held.digest,
  });
  return held;
}

/** The confirmation a capability runs a held action under: which hold, and the digest named. */
export interface Confirmed {
  readonly id: string;
  readonly digest: string;
}

/**
 * Inside the transaction that runs a confirmed action: take the hold (AWAITING → CONFIRMED, only
 * for this digest, only once), so the action and its confirmation commit together or not at
 * all. Of any number of concurrent confirms exactly one gets here; the others are refused.
 */
export async function takeHold(
  r: Repositories,
  changes: ChangeSet,
  caller: Caller,
  confirmed: Confirmed,
  resultId: string,
): Promise<void> {
  const { now } = changes.meta;
  const taken = await r.held.decide(caller.tenantId, confirmed.id, {
    digest: confirmed.digest,
    to: 'CONFIRMED',
    by: caller.actor,
    now,
    resultId,
  });
  if (!taken) {
    throw new UseCaseError(
      'CONFIRMATION_NOT_FOUND',
      'this confirmation was already taken, has lapsed, or names another action',
    );
  }
  changes.audit(
    'held_action',
    caller.tenantId,
    confirmed.id,
    'held_action.confirmed',
    { status: 'AWAITING' },
    { status: 'CONFIRMED', result_id: resultId },
  );
}

/** One money action at the policy's gate. */
export interface GateRequest {
  readonly action: MoneyAction;
  /** Each transaction's amount (one, or a batch's rows). */
  readonly amounts: readonly number[];
  readonly currency: string;
  /** What to hold when the person must confirm (built only then). */
  readonly hold: () => Omit<HoldRequest, 'reason'>;
  /** Set when the person confirmed it: not held again, but the limits are checked as they stand. */
  readonly confirmed: Confirmed | undefined;
  /**
   * Whom it pays, as a mandate's `payees` name it: an agent's single action that the policy would
   * hold may run under a mandate from the person that covers it.
   */
  readonly payee?: string;
  /** The id of what it pays for, when known: a mandate's spend on it is given back if it fails. */
  readonly resourceId?: string;
}

/**
 * Inside the deciding transaction: the one policy for a money action (`decideSpend`). A refusal
 * is thrown; a hold is written and returned (the caller records it as the request's outcome);
 * undefined means run it now. Today's spending is read (under the person's lock on PostgreSQL)
 * only when a daily limit applies.
 */
export async function policyGate(
  r: Repositories,
  changes: ChangeSet,
  deps: Pick<Deps, 'ids' | 'settings' | 'policy' | 'mandateSigner' | 'onMandateViolation' | 'logger'>,
  caller: Caller,
  g: GateRequest,
): Promise<HeldActionRecord | undefined> {
  const policy = deps.policy();
  const spent =
    policy.daily_limit_per_user === undefined || !MONEY_ACTIONS[g.action].spends
      ? 0
      : await spentToday(r, deps, caller, changes.meta.now, g.currency);
  const decided = decideSpend(policy, { action: g.action, amounts: g.amounts, spentToday: spent });
  if (!decided.ok) throw new UseCaseError(decided.error.code, decided.error.message, decided.error.details);
  if (g.confirmed !== undefined || decided.value.kind === 'run') return undefined;
  let reason = decided.value.reason;
  const amount = g.amounts.length === 1 ? g.amounts[0] : undefined;
  if (g.payee !== undefined && amount !== undefined) {
    const mandated = decideSpend(policy, { action: g.action, amounts: g.amounts, spentToday: spent, mandated: true });
    if (mandated.ok && mandated.value.kind === 'run') {
      const used = await spendFromMandate(r, changes, deps, caller, {
        action: g.action,
        payee: g.payee,
        amount,
        currency: g.currency,
        resource: g.resourceId ?? g.action,
        returnable: g.resourceId !== undefined,
      });
      if (used.kind === 'used') return undefined;
      if (used.kind === 'outside') reason = `${reason}; ${used.reason}`;
    }
  }
  return holdAction(r, changes, deps, caller, { ...g.hold(), reason });
}
