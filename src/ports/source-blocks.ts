import type { BlockKind, FailureCounts, Source } from '../domain/abuse.js';

/**
 * A source blocked for a while: one row per source, reused by its next block (a new `id` each
 * time), so "one active block per source" is held by the primary key, not by a read.
 */
export interface SourceBlock {
  /** This block's id (the one `DELETE /api/v1/admin/blocks/:id` names); new for every block. */
  readonly id: string;
  readonly source: Source;
  /** The kind of failure that tipped the source over, or `manual` (a person blocked it). */
  readonly kind: BlockKind;
  /** The source's failures within the window when it was blocked, per kind. */
  readonly reasons: FailureCounts;
  readonly createdAt: number;
  /** Blocked until this instant (ms) unless lifted before. */
  readonly until: number;
  readonly liftedAt: number | null;
  readonly liftedBy: string | null;
}

/** Blocked sources, shared by every instance on the database. */
export interface SourceBlockRepository {
  /**
   * Block `block.source` unless it is already blocked (insert first: a source with no row, or only
   * a lifted or expired one, takes the new block in one statement). Returns the block when this
   * call made it; undefined when an active block was there (another instance got there first).
   */
  block(block: Omit<SourceBlock, 'liftedAt' | 'liftedBy'>): Promise<SourceBlock | undefined>;
  /** Blocks in force at `now` (not lifted, not expired), newest first. */
  active(now: number): Promise<SourceBlock[]>;
  /** The block with this id, in force or not. */
  get(id: string): Promise<SourceBlock | undefined>;
  /** End a block in force early; the lifted block, or undefined when none by that id is in force. */
  lift(id: string, by: string, now: number): Promise<SourceBlock | undefined>;
}
