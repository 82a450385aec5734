import type { Repositories, UnitOfWork } from '../../ports/repositories.js';
import { type ChangeMeta, ChangeSet } from './change-set.js';
import { StaleVersionError } from '../../ports/write-outcomes.js';
import { returnMandateSpend } from './mandates.js';
import { isConflict, UseCaseError } from './use-case-error.js';

/**
 * The one way the application writes: run `work` in ONE database transaction with a change set
 * made for this attempt, then write the audit rows and journals it gathered, in the same
 * transaction. The engine may run the closure again (PostgreSQL after a serialization failure
 * or a deadlock); each run starts from a fresh change set, so the whole effect of a transaction
 * is built inside the attempt that commits. The closure must not capture anything mutable from
 * outside, nor call the outside world.
 *
 * `retryConflicts`: when the closure re-reads what it changes, a version conflict (someone else
 * committed first) is simply run again on fresh state, up to that many times.
 */
export async function tx<T>(
  uow: UnitOfWork,
  meta: ChangeMeta,
  work: (r: Repositories, changes: ChangeSet) => Promise<T>,
  options: { readonly retryConflicts?: number } = {},
): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      let effects: readonly (() => Promise<unknown>)[] = [];
      const value = await uow.run(async (r) => {
        const changes = new ChangeSet(meta);
        const value = await work(r, changes);
        for (const e of changes.gathered().endedUnpaid) await returnMandateSpend(r, changes, e.tenantId, e.resourceId);
        const gathered = changes.gathered();
        if (gathered.journals.length > 0) await r.ledger.append(gathered.journals);
        if (gathered.audits.length > 0) await r.audit.appendMany(gathered.audits);
        effects = gathered.effects;
        return value;
      });
      // Committed: what was to follow the commit happens now, before the caller hears the answer.
      for (const effect of effects) await effect().catch(() => undefined);
      return value;
    } catch (caught) {
      // A batched write that found its row changed is the same conflict as one refused at once.
      const e =
        caught instanceof StaleVersionError
          ? new UseCaseError('CONCURRENT_MODIFICATION', `${caught.message}; try again`)
          : caught;
      if (!isConflict(e) || tries > (options.retryConflicts ?? 0)) throw e;
    }
  }
}
