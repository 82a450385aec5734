import { can } from '../../domain/auth/permissions.js';
import { err, ok, type Result } from '../../domain/result.js';
import type { ReviewFlag } from '../../ports/records.js';
import type { FlagFilter } from '../../ports/repositories.js';
import type { Runtime } from '../jobs/runtime.js';
import type { Caller } from '../kernel/caller.js';
import { resolveFlag } from '../kernel/review-flags.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';
import type { RefundOutcome, RefundsApi, RefundView } from '../refunds/refunds-api.js';
import type { RulesApi } from '../rules/rules-api.js';

/**
 * What a flag suggests doing, where it is safe to offer: each runs through the same use case or
 * rule as everywhere else (state checked again when it runs), audited as the operator.
 */
export const FLAG_ACTIONS = [
  /** A REFUND_FAILED refund is sent again: same record, same out_refund_no. */
  'retry_refund',
  /** A REFUND_FAILED refund was settled outside the system (a note is required). */
  'settle_refund_outside',
  /** A recharge waiting for its own payment: close the trade at the gateway and fail the recharge. */
  'close_trade',
  /** An unresolved recharge: ask its channel now and settle it by the answer. */
  'settle_from_channel',
] as const;
export type FlagAction = (typeof FLAG_ACTIONS)[number];

/** The public shape of a review flag. */
export interface FlagView {
  readonly id: string;
  readonly code: string;
  readonly resource_type: string;
  readonly resource_id: string;
  readonly detail: unknown;
  readonly created_at: string;
  readonly resolved_at: string | null;
  readonly resolved_by: string | null;
  readonly resolution_note: string | null;
  /** What may be done about it now (POST /api/v1/review-flags/:id/actions); empty once resolved. */
  readonly actions: readonly FlagAction[];
}

/** What an action did: the flag as it stands after, and the action's own answer. */
export interface FlagActionResult {
  readonly flag: FlagView;
  readonly refund?: RefundView;
  readonly held?: unknown;
  readonly job?: string;
}

/** Review flags: findings for a person — listed, resolved with a note, acted on where safe. */
export interface FlagsApi {
  list(caller: Caller, filter: FlagFilter & { readonly limit: number }): Promise<FlagView[]>;
  get(caller: Caller, id: string): Promise<Result<FlagView>>;
  /** Resolve an open flag with the operator's note (audited on the resource it is about). */
  resolve(caller: Caller, id: string, note: string): Promise<Result<FlagView>>;
  /** Run one of the flag's offered actions; `note` is required to settle outside and recorded otherwise. */
  act(caller: Caller, id: string, action: FlagAction, note?: string): Promise<Result<FlagActionResult>>;
}

function offered(f: ReviewFlag): FlagAction[] {
  if (f.resolvedAt !== null) return [];
  if (f.code === 'REFUND_FAILED' && f.resourceType === 'refund') return ['retry_refund', 'settle_refund_outside'];
  if (f.code === 'RECHARGE_UNRESOLVED' && f.resourceType === 'recharge') {
    // Never dispatched and its own payment never came in: the payer's trade is what is open.
    return f.detail.channel_says === 'awaiting its own payment' ? ['close_trade'] : ['settle_from_channel'];
  }
  return [];
}

export function toFlagView(f: ReviewFlag): FlagView {
  return {
    id: f.id,
    code: f.code,
    resource_type: f.resourceType,
    resource_id: f.resourceId,
    detail: f.detail,
    created_at: new Date(f.createdAt).toISOString(),
    resolved_at: f.resolvedAt === null ? null : new Date(f.resolvedAt).toISOString(),
    resolved_by: f.resolvedBy ?? null,
    resolution_note: f.resolutionNote ?? null,
    actions: offered(f),
  };
}

export function createFlags(
  rt: Runtime,
  parts: { readonly refunds: RefundsApi; readonly rules: RulesApi },
): { readonly api: FlagsApi } {
  const { deps } = rt;
  const read = deps.uow.read;
  const get = async (caller: Caller, id: string): Promise<Result<FlagView>> => {
    const f = await read.flags.get(caller.tenantId, id);
    return f === undefined ? err('FLAG_NOT_FOUND', `no review flag ${id}`) : ok(toFlagView(f));
  };
  const resolveNow = (caller: Caller, id: string, note: string): Promise<Result<FlagView>> =>
    asResult(() =>
      tx(deps.uow, { actor: caller.actor, now: deps.clock.now(), requestId: caller.requestId }, async (r, changes) => {
        const f = await r.flags.get(caller.tenantId, id);
        if (f === undefined) throw new UseCaseError('FLAG_NOT_FOUND', `no review flag ${id}`);
        const subject = { tenantId: f.tenantId, type: f.resourceType, id: f.resourceId };
        if (!(await resolveFlag(r, changes, f.id, subject, { code: f.code }, note))) {
          throw new UseCaseError('FLAG_ALREADY_RESOLVED', `the flag ${id} is resolved already`);
        }
        const after = await r.flags.get(caller.tenantId, id);
        return toFlagView(after ?? f);
      }),
    );
  const refundAnswer = (r: Result<RefundOutcome>): Result<Omit<FlagActionResult, 'flag'>> => {
    if (!r.ok) return r;
    return ok(r.value.kind === 'held' ? { held: r.value.held } : { refund: r.value.refund });
  };
  return {
    api: {
      list: async (caller, filter) => (await read.flags.list(caller.tenantId, filter)).map(toFlagView),
      get,
      resolve: resolveNow,
      async act(caller, id, action, note) {
        const f = await read.flags.get(caller.tenantId, id);
        if (f === undefined) return err('FLAG_NOT_FOUND', `no review flag ${id}`);
        if (f.resolvedAt !== null) return err('FLAG_ALREADY_RESOLVED', `the flag ${id} is resolved already`);
        if (!offered(f).includes(action)) {
          return err('FLAG_ACTION_NOT_OFFERED', `a ${f.code} flag does not offer ${action}`, {
            offered: offered(f),
          });
        }
        let done: Result<Omit<FlagActionResult, 'flag'>>;
        switch (action) {
          case 'retry_refund':
            done = refundAnswer(await parts.refunds.retry(caller, f.resourceId));
            break;
          case 'settle_refund_outside': {
            if (note === undefined || note.trim() === '') {
              return err('VALIDATION_FAILED', 'settling a refund outside the system needs a note saying how', {
                errors: [{ path: 'note', code: 'NOTE_REQUIRED', message: 'say how the refund was settled' }],
              });
            }
            if (!can(caller.role, 'refunds.settle_outside')) {
              return err('FLAG_ACTION_NOT_OFFERED', 'only an operator settles a refund outside the system');
            }
            const settled = await parts.refunds.settleOutside(caller, f.resourceId, note);
            done = settled.ok ? ok({ refund: settled.value }) : settled;
            break;
          }
          case 'close_trade': {
            const rec = await read.recharges.get(caller.tenantId, f.resourceId);
            if (rec?.topUpId === undefined)
              return err('FLAG_ACTION_NOT_OFFERED', 'the recharge has no payment of its own');
            done = await parts.rules.repairNow(caller, { kind: 'close_trade', topUpId: rec.topUpId });
            break;
          }
          case 'settle_from_channel':
            done = await parts.rules.repairNow(caller, { kind: 'settle_from_channel', rechargeId: f.resourceId });
            break;
          default: {
            const never: never = action;
            throw new Error(`unknown flag action ${String(never)}`);
          }
        }
        if (!done.ok) return done;
        // The action resolves the flag when it removes the finding; a note given is kept either way.
        const now = await read.flags.get(caller.tenantId, id);
        if (now !== undefined && now.resolvedAt === null && note !== undefined && note.trim() !== '') {
          const resolved = await resolveNow(caller, id, `${action}: ${note}`);
          if (resolved.ok) return ok({ ...done.value, flag: resolved.value });
        }
        return ok({ ...done.value, flag: toFlagView(now ?? f) });
      },
    },
  };
}
