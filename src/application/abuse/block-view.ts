import type { BlockKind, FailureCounts } from '../../domain/abuse.js';
import type { SourceBlock } from '../../ports/source-blocks.js';

/** A block as operators see it (`GET /api/v1/admin/blocks`). */
export interface BlockView {
  readonly id: string;
  readonly source: string;
  /** The kind of failure that tipped the source over, or `manual`. */
  readonly kind: BlockKind;
  /** Failures within the window when it was blocked, per kind. */
  readonly reasons: FailureCounts;
  readonly created_at: string;
  readonly until: string;
  readonly lifted_at: string | null;
  readonly lifted_by: string | null;
}

export function blockView(b: SourceBlock): BlockView {
  return {
    id: b.id,
    source: b.source,
    kind: b.kind,
    reasons: b.reasons,
    created_at: new Date(b.createdAt).toISOString(),
    until: new Date(b.until).toISOString(),
    lifted_at: b.liftedAt === null ? null : new Date(b.liftedAt).toISOString(),
    lifted_by: b.liftedBy,
  };
}
