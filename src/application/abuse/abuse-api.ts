import type { BlockPolicy, FailureKind, Source } from '../../domain/abuse.js';
import { err, type Result } from '../../domain/result.js';
import type { FailureCounter } from '../../ports/failure-counter.js';
import type { AuditRecord } from '../../ports/records.js';
import type { Runtime } from '../jobs/runtime.js';
import { BlockList } from './block-list.js';
import { blockSource, type ManualBlock } from './block-source.js';
import { type BlockView, blockView } from './block-view.js';
import { liftBlock } from './lift-block.js';
import { type FailureOutcome, recordFailure } from './record-failure.js';

export type { BlockView } from './block-view.js';
export type { ManualBlock } from './block-source.js';
export type { FailureOutcome } from './record-failure.js';
export { FAILURE_KINDS, type FailureKind, type Source } from '../../domain/abuse.js';

/** A block in force, as the transports need it to refuse a request. */
export interface ActiveBlock {
  readonly id: string;
  readonly source: Source;
  /** When it ends (ms). */
  readonly until: number;
  /** Whole seconds until it ends (at least 1), for Retry-After. */
  readonly retryAfterSeconds: number;
}

/**
 * Sources that fail too often are blocked for a while. Whoever sees a failure reports it:
 * the callback routes (forged signatures), authentication (bad credentials), mandates (an agent
 * asking for what its person did not allow).
 */
export interface AbuseApi {
  /** Count a failure of `source`; past the threshold within the window, the source is blocked. */
  recordFailure(source: Source, kind: FailureKind, requestId?: string | null): Promise<FailureOutcome>;
  /** The block in force against any of these sources (say, the caller's IP and credential), if any. */
  blockOf(sources: readonly Source[]): Promise<ActiveBlock | undefined>;
  /** Whether `source` is blocked now. */
  isBlocked(source: Source): Promise<boolean>;
  /** Blocks in force, newest first (read from the database, not this instance's copy). */
  list(): Promise<BlockView[]>;
  /** Block a source by hand for a while, with a note (audited); refused when it is blocked already. */
  block(request: ManualBlock): Promise<Result<BlockView>>;
  /** End a block early; `by` is recorded as who lifted it. */
  lift(id: string, by: string, requestId?: string | null): Promise<Result<BlockView>>;
  /** The audit trail of one block (made, lifted). */
  audit(id: string): Promise<AuditRecord[]>;
}

export interface AbuseSettings extends BlockPolicy {
  /** false: failures are not counted and nothing is blocked. */
  readonly enabled: boolean;
  /** How old this instance's copy of the blocks may get before a request reloads it. */
  readonly refreshMs: number;
  /** The tenant the audit rows of blocks belong to. */
  readonly auditTenantId: string;
}

export function createAbuse(rt: Runtime, counter: FailureCounter, settings: AbuseSettings): { readonly api: AbuseApi } {
  const { deps } = rt;
  const blocks = new BlockList(deps.uow.read, deps.clock, settings.refreshMs, deps.logger);
  const ctx = { deps, counter, blocks, policy: settings, auditTenantId: settings.auditTenantId };
  const blockOf = async (sources: readonly Source[]): Promise<ActiveBlock | undefined> => {
    if (!settings.enabled) return undefined;
    const b = await blocks.find(sources);
    if (b === undefined) return undefined;
    const retryAfterSeconds = Math.max(1, Math.ceil((b.until - deps.clock.now()) / 1000));
    return { id: b.id, source: b.source, until: b.until, retryAfterSeconds };
  };
  return {
    api: {
      recordFailure: (source, kind, requestId = null) =>
        settings.enabled ? recordFailure(ctx, source, kind, requestId) : Promise.resolve({ counts: null, block: null }),
      blockOf,
      isBlocked: async (source) => (await blockOf([source])) !== undefined,
      list: async () => (await deps.uow.read.blocks.active(deps.clock.now())).map(blockView),
      block: (request) =>
        settings.enabled
          ? blockSource(ctx, request)
          : Promise.resolve(err('BLOCKING_DISABLED', 'security.block.enabled is false: nothing is blocked')),
      lift: (id, by, requestId = null) => liftBlock(ctx, id, by, requestId),
      audit: (id) => deps.uow.read.audit.list(settings.auditTenantId, 'source_block', id),
    },
  };
}
