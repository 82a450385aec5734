import {
  type BlockPolicy,
  crossesThreshold,
  type FailureCounts,
  type FailureKind,
  type Source,
} from '../../domain/abuse.js';
import type { FailureCounter } from '../../ports/failure-counter.js';
import type { SourceBlock } from '../../ports/source-blocks.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import type { BlockList } from './block-list.js';

/** The actor blocks are made as. */
export const ABUSE_ACTOR = 'system:abuse';

/** What one reported failure led to. */
export interface FailureOutcome {
  /** The source's failures within the window, this one included (null when they could not be counted). */
  readonly counts: FailureCounts | null;
  /** The block in force against the source now, if any (made by this failure or before). */
  readonly block: SourceBlock | null;
}

export interface RecordFailureContext {
  readonly deps: Deps;
  readonly counter: FailureCounter;
  readonly blocks: BlockList;
  readonly policy: BlockPolicy;
  /** The tenant the audit rows of blocks belong to (sources are not any tenant's). */
  readonly auditTenantId: string;
}

/**
 * Count a failure of `source`; past the threshold within the window, block it for the policy's
 * duration: a block row (insert first, so instances racing on one source make one block) and its
 * audit row in one transaction. Counting trouble (Redis away) is logged and lets the request go:
 * the failure is already being refused, and refusing everyone for it would be worse.
 */
export async function recordFailure(
  ctx: RecordFailureContext,
  source: Source,
  kind: FailureKind,
  requestId: string | null,
): Promise<FailureOutcome> {
  const { deps, policy } = ctx;
  const now = deps.clock.now();
  let counts: FailureCounts;
  try {
    counts = await ctx.counter.hit(source, kind, now, policy.windowMs);
  } catch (e) {
    deps.logger.warn({ err: e instanceof Error ? e.message : String(e), kind }, 'could not count a failure');
    return { counts: null, block: null };
  }
  if (!crossesThreshold(counts, policy)) return { counts, block: null };
  const already = await ctx.blocks.find([source]);
  if (already !== undefined) return { counts, block: already };

  const id = deps.ids.next('blk');
  const made = await tx(deps.uow, { actor: ABUSE_ACTOR, now, requestId }, async (r, changes) => {
    const block = await r.blocks.block({
      id,
      source,
      kind,
      reasons: counts,
      createdAt: now,
      until: now + policy.durationMs,
    });
    if (block !== undefined)
      changes.audit('source_block', ctx.auditTenantId, block.id, 'block.created', null, {
        source,
        kind,
        reasons: counts,
        until: new Date(block.until).toISOString(),
      });
    return block;
  });
  if (made === undefined) {
    // Another instance blocked the source first: take its block into this instance's copy now.
    await ctx.blocks.reload();
    return { counts, block: (await ctx.blocks.find([source])) ?? null };
  }
  ctx.blocks.noteBlocked(made);
  deps.logger.warn({ block_id: made.id, source, kind, reasons: counts, until: made.until }, 'source blocked');
  // Its failures led to this block; after the block it starts from nothing.
  await ctx.counter.reset(source).catch(() => undefined);
  return { counts, block: made };
}
