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

/**
 * Resolve an open flag, audited, recording who (the transaction's actor) and why (`note`, or the
 * detail's words); false when there was none open with that id.
 */
export async function resolveFlag(
  r: Repositories,
  changes: ChangeSet,
  id: string,
  subject: FlagSubject,
  detail: Readonly<Record<string, unknown>>,
  note?: string,
): Promise<boolean> {
  const { actor, now } = changes.meta;
  const why =
    note ??
    Object.entries(detail)
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join(', ');
  const resolved = await r.flags.resolve(subject.tenantId, id, now, actor, why);
  if (resolved)
    changes.audit(subject.type, subject.tenantId, subject.id, 'flag.resolved', null, {
      flag_id: id,
      ...detail,
      ...(note === undefined ? {} : { note }),
    });
  return resolved;
}

/** Resolve every open flag of `code` about one subject (the finding it raised has gone away). */
export async function resolveFlagsOf(
  r: Repositories,
  changes: ChangeSet,
  subject: FlagSubject,
  code: string,
  detail: Readonly<Record<string, unknown>>,
  note?: string,
): Promise<number> {
  const open = await r.flags.list(subject.tenantId, {
    open: true,
    code,
    resourceType: subject.type,
    resourceId: subject.id,
    limit: 100,
  });
  let n = 0;
  for (const f of open) if (await resolveFlag(r, changes, f.id, subject, { code, ...detail }, note)) n += 1;
  return n;
}
