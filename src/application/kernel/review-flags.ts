import type { IdGenerator } from '../../ports/id-generator.js';
import type { Repositories } from '../../ports/repositories.js';
import type { ChangeSet } from './change-set.js';

/** What a review flag is about. */
export interface FlagSubject {
  readonly tenantId: string;
  readonly type: string;
  readonly id: string;
}

/** A finding for a person, written in the caller's transaction with its audit row. */
export async function raiseFlag(
  r: Repositories,
  changes: ChangeSet,
  ids: IdGenerator,
  subject: FlagSubject,
  code: string,
  detail: Readonly<Record<string, unknown>>,
): Promise<void> {
  await raiseFlagOnce(r, changes, ids.next('flg'), subject, code, detail);
}

/**
 * A finding raised at most once per `id` (deterministic, from `flagIds`), audited only when this
 * call raised it — insert first, then branch on whether the database took it. False: it existed.
 */
export async function raiseFlagOnce(
  r: Repositories,
  changes: ChangeSet,
  id: string,
  subject: FlagSubject,
  code: string,
  detail: Readonly<Record<string, unknown>>,
): Promise<boolean> {
  const raised = await r.flags.raiseOnce({
    id,
    tenantId: subject.tenantId,
    resourceType: subject.type,
    resourceId: subject.id,
    code,
    detail,
    createdAt: changes.meta.now,
    resolvedAt: null,
  });
  if (raised) {
    changes.audit(subject.type, subject.tenantId, subject.id, `flag.${code.toLowerCase()}`, null, {
      flag_id: id,
      code,
      ...detail,
    });
  }
  return raised;
}

/** Resolve an open flag, audited; false when there was none open with that id. */
export async function resolveFlag(
  r: Repositories,
  changes: ChangeSet,
  id: string,
  subject: FlagSubject,
  detail: Readonly<Record<string, unknown>>,
): Promise<boolean> {
  const resolved = await r.flags.resolve(subject.tenantId, id, changes.meta.now);
  if (resolved)
    changes.audit(subject.type, subject.tenantId, subject.id, 'flag.resolved', null, { flag_id: id, ...detail });
  return resolved;
}
