import { err, ok, type Result } from '../../domain/result.js';
import type { HeldActionRecord } from '../../ports/held-actions.js';
import type { Caller } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { type Confirmed, heldFor, type HeldView, toHeldView } from '../kernel/holds.js';
import { canActOn, canSee } from '../kernel/ownership.js';
import { tx } from '../kernel/tx.js';

/**
 * Runs one kind of held action once it is confirmed, through the capability that owns it (which
 * takes the hold in the same transaction as the action, and re-checks the limits as they stand).
 * The answer is what that capability answers for a request of its own.
 */
export type HeldExecutor = (
  caller: Caller,
  held: HeldActionRecord,
  confirmed: Confirmed,
) => Promise<Result<Readonly<Record<string, unknown>>>>;

/** Money actions the policy held for the person: list, show, confirm exactly what was shown, or reject. */
export interface ConfirmationsApi {
  /** The caller's person's held actions (awaiting ones unless `all`), newest first. */
  list(caller: Caller, opts: { readonly all: boolean }): Promise<HeldView[]>;
  get(caller: Caller, id: string): Promise<Result<HeldView>>;
  /**
   * Confirm: the person's own credential or session (or an operator acting for them), never an
   * agent's; `digest` must name exactly the held content. Runs once however many confirms race.
   */
  confirm(
    caller: Caller,
    id: string,
    digest: unknown,
  ): Promise<Result<{ readonly held: HeldView; readonly result: Readonly<Record<string, unknown>> }>>;
  reject(caller: Caller, id: string, digest: unknown): Promise<Result<HeldView>>;
}

export function createConfirmations(
  deps: Deps,
  executors: ReadonlyMap<string, HeldExecutor>,
): { readonly api: ConfirmationsApi } {
  /** A hold this caller may decide, as far as a read can tell (the take in the action's transaction decides). */
  const decidable = async (caller: Caller, id: string, digest: unknown): Promise<Result<HeldActionRecord>> => {
    const h = await deps.uow.read.held.get(caller.tenantId, id);
    if (h === undefined || !canSee(caller, h.userId) || !canActOn(caller, h.userId)) {
      return err('CONFIRMATION_NOT_FOUND', `no held action ${id}`);
    }
    if (caller.role === 'agent') {
      return err('FORBIDDEN', 'an agent never confirms what the policy held for the person');
    }
    if (typeof digest !== 'string' || digest !== h.digest) {
      return err('CONFIRMATION_MISMATCH', 'the confirmation does not name the action that was held (its digest)', {
        held: toHeldView(h).what,
      });
    }
    if (h.status !== 'AWAITING') {
      return err('CONFIRMATION_NOT_FOUND', `held action ${id} was already ${h.status.toLowerCase()}`, {
        status: h.status,
      });
    }
    if (h.expiresAt <= deps.clock.now()) return err('CONFIRMATION_NOT_FOUND', `held action ${id} has lapsed`);
    return ok(h);
  };

  return {
    api: {
      async list(caller, opts) {
        const rows = await deps.uow.read.held.listForPerson(caller.tenantId, caller.userId, {
          all: opts.all,
          limit: 100,
        });
        return rows.map(toHeldView);
      },
      get: (caller, id) => heldFor(deps, caller, id),
      async confirm(caller, id, digest) {
        const h = await decidable(caller, id, digest);
        if (!h.ok) return h;
        const execute = executors.get(h.value.action);
        if (execute === undefined) {
          return err('ACTION_UNAVAILABLE', `"${h.value.action}" cannot be carried out in this deployment`);
        }
        // The person's money, decided by whoever confirmed it (audited as them).
        const as: Caller = { ...caller, userId: h.value.userId };
        const ran = await execute(as, h.value, { id: h.value.id, digest: h.value.digest });
        if (!ran.ok) {
          // A confirm that lost the race answers like one that came after it, whatever the
          // action's own check tripped on first (the winner already changed what it checks).
          const now = await deps.uow.read.held.get(caller.tenantId, id);
          if (now !== undefined && now.status !== 'AWAITING') {
            return err('CONFIRMATION_NOT_FOUND', `held action ${id} was already ${now.status.toLowerCase()}`, {
              status: now.status,
            });
          }
          return ran;
        }
        const after = await heldFor(deps, caller, id);
        return after.ok ? ok({ held: after.value, result: ran.value }) : after;
      },
      async reject(caller, id, digest) {
        const h = await decidable(caller, id, digest);
        if (!h.ok) return h;
        const now = deps.clock.now();
        const done = await tx(
          deps.uow,
          { actor: caller.actor, now, requestId: caller.requestId },
          async (r, changes) => {
            const taken = await r.held.decide(caller.tenantId, id, {
              digest: h.value.digest,
              to: 'REJECTED',
              by: caller.actor,
              now,
              resultId: null,
            });
            if (taken) {
              changes.audit(
                'held_action',
                caller.tenantId,
                id,
                'held_action.rejected',
                { status: 'AWAITING' },
                {
                  status: 'REJECTED',
                },
              );
            }
            return taken;
          },
        );
        if (!done) return err('CONFIRMATION_NOT_FOUND', `held action ${id} was already decided`);
        return heldFor(deps, caller, id);
      },
    },
  };
}
