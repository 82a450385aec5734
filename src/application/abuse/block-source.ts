import { MAX_MANUAL_BLOCK_MS, NO_FAILURES, type Source } from '../../domain/abuse.js';
import { err, ok, type Result } from '../../domain/result.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import type { BlockList } from './block-list.js';
import { type BlockView, blockView } from './block-view.js';

export interface BlockSourceContext {
  readonly deps: Deps;
  readonly blocks: BlockList;
  readonly auditTenantId: string;
}

export interface ManualBlock {
  readonly source: Source;
  /** How long, in ms (1 minute to MAX_MANUAL_BLOCK_MS). */
  readonly durationMs: number;
  /** Why: required, kept in the audit trail. */
  readonly note: string;
  /** Who blocks it (an actor string). */
  readonly by: string;
  readonly requestId: string | null;
}

/**
 * A person blocks a source by hand (an address seen probing, a leaked credential's hash): the same
 * block row the failure counter makes (insert first: one active block per source, whoever made
 * it), kind `manual`, no failures counted, and its audit row with the note, in one transaction.
 * Every instance refuses the source within its refresh; this one at once.
 */
export async function blockSource(ctx: BlockSourceContext, b: ManualBlock): Promise<Result<BlockView>> {
  if (!Number.isInteger(b.durationMs) || b.durationMs < 60_000 || b.durationMs > MAX_MANUAL_BLOCK_MS)
    return err('VALIDATION_FAILED', `a block lasts from 1 minute to ${MAX_MANUAL_BLOCK_MS / 60_000} minutes`);
  const { deps } = ctx;
  const now = deps.clock.now();
  const id = deps.ids.next('blk');
  const made = await tx(deps.uow, { actor: b.by, now, requestId: b.requestId }, async (r, changes) => {
    const block = await r.blocks.block({
      id,
      source: b.source,
      kind: 'manual',
      reasons: NO_FAILURES,
      createdAt: now,
      until: now + b.durationMs,
    });
    if (block !== undefined)
      changes.audit('source_block', ctx.auditTenantId, block.id, 'block.created', null, {
        source: b.source,
        kind: 'manual',
        note: b.note,
        until: new Date(block.until).toISOString(),
      });
    return block;
  });
  if (made === undefined) return err('SOURCE_ALREADY_BLOCKED', `${b.source} is blocked already`);
  ctx.blocks.noteBlocked(made);
  deps.logger.warn({ block_id: made.id, source: b.source, by: b.by, until: made.until }, 'source blocked by hand');
  return ok(blockView(made));
}
