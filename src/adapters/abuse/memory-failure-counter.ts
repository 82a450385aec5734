import { type FailureCounts, type FailureKind, NO_FAILURES, type Source } from '../../domain/abuse.js';
import type { FailureCounter } from '../../ports/failure-counter.js';

interface Hit {
  readonly at: number;
  readonly kind: FailureKind;
}

/**
 * Failures per source in this process's memory (one instance; nothing shared). Bounded: at most
 * `maxSources` sources (the least recently failing ones are forgotten first) and `maxPerSource`
 * hits each (the oldest go first), so a flood of sources or failures cannot grow it without end.
 */
export class MemoryFailureCounter implements FailureCounter {
  private readonly sources = new Map<Source, Hit[]>();

  constructor(
    private readonly maxSources = 100_000,
    private readonly maxPerSource = 1000,
  ) {}

  hit(source: Source, kind: FailureKind, now: number, windowMs: number): Promise<FailureCounts> {
    const hits = (this.sources.get(source) ?? []).filter((h) => h.at > now - windowMs);
    hits.push({ at: now, kind });
    if (hits.length > this.maxPerSource) hits.splice(0, hits.length - this.maxPerSource);
    // Re-inserted, so the map's order is least recently failing first.
    this.sources.delete(source);
    this.sources.set(source, hits);
    if (this.sources.size > this.maxSources) {
      const oldest = this.sources.keys().next();
      if (oldest.done !== true) this.sources.delete(oldest.value);
    }
    const counts = { ...NO_FAILURES };
    for (const h of hits) counts[h.kind] += 1;
    return Promise.resolve(counts);
  }

  reset(source: Source): Promise<void> {
    this.sources.delete(source);
    return Promise.resolve();
  }
}
