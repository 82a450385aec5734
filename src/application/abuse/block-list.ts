import type { Source } from '../../domain/abuse.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { ReadRepositories } from '../../ports/repositories.js';
import type { SourceBlock } from '../../ports/source-blocks.js';

/**
 * This instance's copy of the blocks in force, so the check on every request is a map lookup.
 *
 * How a block made elsewhere reaches this instance: the copy is reloaded from the database (one
 * indexed query for the blocks in force) by the first check that finds it older than `refreshMs`,
 * and that check waits for the reload. So any request arriving `refreshMs` (default 1 s) after
 * another instance committed a block or a lift sees it; an idle instance asks nothing. A block this
 * instance makes or lifts is in its copy at once. Expiry needs no reload: every check compares the
 * block's end with the clock.
 */
export class BlockList {
  private bySource = new Map<Source, SourceBlock>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | undefined;
  /** Changes made here while a reload is in flight: laid over what the reload read (it may predate them). */
  private overlay: Map<Source, SourceBlock | null> | undefined;

  constructor(
    private readonly read: Pick<ReadRepositories, 'blocks'>,
    private readonly clock: Clock,
    private readonly refreshMs: number,
    private readonly logger: Logger,
  ) {}

  /** The block in force against any of `sources` (first match), reloading first if the copy is stale. */
  async find(sources: readonly Source[]): Promise<SourceBlock | undefined> {
    if (this.clock.now() - this.loadedAt >= this.refreshMs) await this.reload();
    const now = this.clock.now();
    for (const source of sources) {
      const b = this.bySource.get(source);
      if (b !== undefined && b.liftedAt === null && b.until > now) return b;
    }
    return undefined;
  }

  /** Reload now (concurrent callers share one query). A failed reload keeps the old copy and is logged. */
  reload(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** A block made here (or found made by another instance). */
  noteBlocked(block: SourceBlock): void {
    this.note(block.source, block);
  }

  /** A block lifted here. */
  noteLifted(block: SourceBlock): void {
    this.note(block.source, null);
  }

  private note(source: Source, block: SourceBlock | null): void {
    if (block === null) this.bySource.delete(source);
    else this.bySource.set(source, block);
    this.overlay?.set(source, block);
  }

  private async load(): Promise<void> {
    const at = this.clock.now();
    this.overlay = new Map();
    try {
      const next = new Map((await this.read.blocks.active(at)).map((b) => [b.source, b] as const));
      for (const [source, b] of this.overlay) {
        if (b === null) next.delete(source);
        else next.set(source, b);
      }
      this.bySource = next;
    } catch (e) {
      // Fail open: the database being away must not refuse every request; the copy so far stays.
      this.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not reload the blocked sources');
    } finally {
      this.overlay = undefined;
      this.loadedAt = at;
    }
  }
}
