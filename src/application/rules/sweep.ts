import { type Rule, ruleRunId } from '../../domain/rules.js';
import { PRIORITY } from '../jobs/job-kinds.js';
import { enqueueOnce } from '../jobs/job-steps.js';
import { SYSTEM } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';

/**
 * For each rule, find the subjects (orders, recharges) stuck in its statuses for long enough and
 * queue one job of `kind` per subject state: the id is made of the rule, the subject and its
 * version, so every instance and every sweep agree (insert first: a run is queued once). Returns
 * how many runs were new.
 */
export async function sweepStale<R extends Rule<string, string>>(
  deps: Deps,
  kind: string,
  rules: readonly R[],
  find: (
    rule: R,
    updatedBefore: number,
    updatedAfter: number | undefined,
  ) => Promise<ReadonlyArray<{ readonly id: string; readonly tenantId: string; readonly version: number }>>,
): Promise<number> {
  const now = deps.clock.now();
  let queued = 0;
  for (const rule of rules) {
    const stale = await find(
      rule,
      now - rule.olderThanMs,
      rule.youngerThanMs === undefined ? undefined : now - rule.youngerThanMs,
    );
    if (stale.length === 0) continue;
    queued += await tx(deps.uow, { actor: SYSTEM.rules, now, requestId: null }, async (r) => {
      let n = 0;
      for (const o of stale) {
        const added = await enqueueOnce(
          r,
          deps,
          {
            id: ruleRunId(rule, o.id, o.version),
            tenantId: o.tenantId,
            kind,
            resourceId: o.id,
            payload: { rule: rule.name, version: o.version },
            priority: PRIORITY.expire,
          },
          now,
        );
        if (added) n += 1;
      }
      return n;
    });
  }
  return queued;
}
