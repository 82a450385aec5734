import type { ApiKeyRecord, PrincipalRecord } from '../../../ports/identity.js';

/** What authentication reads for an API key: the key and the principal it belongs to. */
export interface KeyWithPrincipal {
  readonly key: ApiKeyRecord;
  readonly principal: PrincipalRecord | undefined;
}

/** How many keys one process keeps at most (the oldest stored goes first). */
const MAX_ENTRIES = 10_000;

/**
 * API keys with their principals, kept in this process so that an authenticated request on
 * PostgreSQL does not cost a round trip just to read its own key — only while this process is
 * told of every change to them.
 *
 * The database tells: migration 0034 has every statement that updates or deletes API keys, or
 * changes a principal's role, kind, access or password, send a NOTIFY on
 * `autoglm_credentials`, which the coordination's listening connection receives
 * (`PostgresCoordination`) and turns into `invalidate()`. A notification is sent after the change
 * commits, so a read begun after it arrives sees the change.
 *
 * What keeps a stale answer out:
 * - nothing is kept unless the process is listening (`listening(true)` only once LISTEN has
 *   answered); losing the connection clears everything and keeps nothing until it listens again
 *   (a change made meanwhile is never heard of, so nothing from before may be trusted);
 * - every `invalidate` starts a new generation: a read begun before a change was heard of
 *   (`mark`) may have read the old row, and its answer is not kept (`put` with an old mark);
 * - a change committed in this process clears the cache as it commits (the unit of work's
 *   after-commit), before the caller is answered, so the instance that revoked a key refuses it
 *   from its next request on, without waiting for its own notification;
 * - an entry lives at most `maxAgeMs` whatever happens (a connection that died without the
 *   process noticing), and keys that were not found are never kept.
 * The other instances refuse a revoked key once the notification reaches them: the time the
 * server takes to signal a listening connection, about a millisecond on one network.
 */
export class CredentialCache {
  private readonly entries = new Map<string, { readonly value: KeyWithPrincipal; readonly until: number }>();
  private generation = 0;
  private heard = false;

  constructor(
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries: number = MAX_ENTRIES,
  ) {}

  /** The key's answer, if kept and still young enough. */
  get(id: string): KeyWithPrincipal | undefined {
    const e = this.entries.get(id);
    if (e === undefined) return undefined;
    if (e.until > this.now()) return e.value;
    this.entries.delete(id);
    return undefined;
  }

  /** Call before reading a key from the database; give the result to `put`. Undefined: keep nothing. */
  mark(): number | undefined {
    return this.heard ? this.generation : undefined;
  }

  /** Keep what a read begun at `mark` found, unless a change was heard of since (or no longer can be). */
  put(id: string, value: KeyWithPrincipal, mark: number | undefined): void {
    if (mark === undefined || !this.heard || mark !== this.generation) return;
    if (this.entries.size >= this.maxEntries && !this.entries.has(id)) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    // A password hash is not needed to authenticate with a key: it is not kept in memory.
    const principal = value.principal === undefined ? undefined : { ...value.principal, passwordHash: null };
    this.entries.set(id, { value: { key: value.key, principal }, until: this.now() + this.maxAgeMs });
  }

  /** A key or principal changed (or may have): forget every answer; reads in flight keep theirs out. */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
  }

  /** Whether changes are heard of from now on; either way, what was kept is forgotten. */
  listening(on: boolean): void {
    this.invalidate();
    this.heard = on;
  }

  /** Answers kept (metrics, tests). */
  get size(): number {
    return this.entries.size;
  }
}
