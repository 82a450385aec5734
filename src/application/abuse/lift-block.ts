import { err, ok, type Result } from '../../domain/result.js';
import type { FailureCounter } from '../../ports/failure-counter.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import type { BlockList } from './block-list.js';
import { type BlockView, blockView } from './block-view.js';

export interface LiftBlockContext {
  readonly deps: Deps;
  readonly counter: FailureCounter;
  readonly blocks: BlockList;
  readonly auditTenantId: string;
}

/** End a block in force before its time, audited as `by`. Other instances see it within their refresh. */
export async function liftBlock(
  ctx: LiftBlockContext,
  id: string,
  by: string,
  requestId: string | null,
): Promise<Result<BlockView>> {
  const { deps } = ctx;
  const now = deps.clock.now();
  const lifted = await tx(deps.uow, { actor: by, now, requestId }, async (r, changes) => {
    const block = await r.blocks.lift(id, by, now);
    if (block !== undefined)
      changes.audit(
        'source_block',
        ctx.auditTenantId,
        block.id,
        'block.lifted',
        { source: block.source, until: new Date(block.until).toISOString(), lifted_at: null },
        { source: block.source, until: new Date(block.until).toISOString(), lifted_at: new Date(now).toISOString() },
      );
    return block;
  });
  if (lifted === undefined) return err('BLOCK_NOT_FOUND', `no block ${id} is in force`);
  ctx.blocks.noteLifted(lifted);
  await ctx.counter.reset(lifted.source).catch(() => undefined);
  return ok(blockView(lifted));
}
