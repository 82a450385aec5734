import { sleepOn } from '../../ports/clock.js';
import type { DataKeyRecord } from '../../ports/records.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';

/** The actor key rotations are recorded as, and the tenant their audit rows belong to (keys serve every tenant). */
export const DATA_KEYS_ACTOR = 'system:data-keys';
export const DATA_KEYS_TENANT = 'system';

export interface RotationSettings {
  /** Values re-sealed per transaction: small, so each is short beside live traffic. */
  readonly batch: number;
  /**
   * How long after the new key exists before the old one may be retired: every running instance
   * looks for a new key at least this often (twice `security.key_refresh_ms`), so none still seals
   * with the old key once it has passed.
   */
  readonly graceMs: number;
  /** Passes over every sealed column at most before giving up (and leaving the rotation to resume). */
  readonly maxPasses: number;
}

/** Where a rotation stands, for a progress display. */
export interface RotationProgress {
  readonly pass: number;
  readonly column: string;
  /** Values of this column re-sealed so far in this pass. */
  readonly resealed: number;
}

/** What a rotation did. */
export interface RotationReport {
  /** The key every value is (or, when not `done`, is being) sealed with. */
  readonly keyId: string;
  /** An interrupted rotation was carried on, rather than a new key made. */
  readonly resumed: boolean;
  /** Values re-sealed, per sealed column ("table.column"), over every pass. */
  readonly resealed: Readonly<Record<string, number>>;
  readonly passes: number;
  /** Keys retired at the end (none when not `done`). */
  readonly retired: readonly string[];
  /** Values not yet sealed with the new key, per column: all zero when `done`. */
  readonly stale: Readonly<Record<string, number>>;
  /** Every value is sealed with the new key and the old keys are retired. Otherwise run it again: it resumes. */
  readonly done: boolean;
}

const total = (counts: Readonly<Record<string, number>>): number => Object.values(counts).reduce((a, n) => a + n, 0);

/**
 * Rotate the data key without stopping anything: make a new key (or resume a rotation that was
 * interrupted), seal new values with it at once, re-seal every stored value in small batches — each
 * its own short transaction, compare-and-set per value, so writers carry on beside it on SQLite and
 * PostgreSQL alike — and retire the old keys once no value uses them and no instance can still be
 * sealing with them. Running it again after an interruption resumes; after a completed one, it
 * rotates again.
 */
export async function rotateDataKey(
  deps: Pick<Deps, 'uow' | 'clock' | 'logger'>,
  settings: RotationSettings,
  onProgress?: (p: RotationProgress) => void,
): Promise<RotationReport> {
  const meta = (): { actor: string; now: number; requestId: null } => ({
    actor: DATA_KEYS_ACTOR,
    now: deps.clock.now(),
    requestId: null,
  });
  const begun = await tx(deps.uow, meta(), async (r, changes) => {
    const b = await r.dataKeys.beginRotation(changes.meta.now);
    if (!b.resumed) {
      changes.audit('data_key', DATA_KEYS_TENANT, b.active.id, 'data_key.rotation_started', null, {
        retiring: b.retiring.map((k) => k.id),
      });
    }
    return b;
  });
  const keyId = begun.active.id;
  // This process seals with the new key from here on; other instances within their refresh interval.
  const sealing = await deps.uow.read.dataKeys.refresh();
  if (sealing !== keyId) throw new Error(`another rotation made data key ${sealing} meanwhile: run it again`);
  deps.logger.info(
    { key_id: keyId, retiring: begun.retiring.map((k) => k.id), resumed: begun.resumed },
    begun.resumed ? 'data key rotation resumed' : 'data key rotation started',
  );

  const columns = deps.uow.read.dataKeys.sealedColumns();
  const resealed: Record<string, number> = Object.fromEntries(columns.map((c) => [c, 0]));
  let stale: Record<string, number> | undefined;
  let passes = 0;
  while (stale === undefined && passes < settings.maxPasses) {
    passes += 1;
    for (const column of columns) {
      let cursor: string | null = null;
      let inPass = 0;
      do {
        const step: { resealed: number; cursor: string | null } = await tx(deps.uow, meta(), (r) =>
          r.dataKeys.reseal(column, keyId, cursor, settings.batch),
        );
        inPass += step.resealed;
        cursor = step.cursor;
        onProgress?.({ pass: passes, column, resealed: inPass });
      } while (cursor !== null);
      resealed[column] = (resealed[column] ?? 0) + inPass;
    }
    // An instance that has not refreshed yet may still seal a value with the old key: wait until
    // none can, then pass once more to re-seal whatever they wrote meanwhile.
    const wait = begun.active.createdAt + settings.graceMs - deps.clock.now();
    if (wait > 0) {
      await sleepOn(deps.clock, wait);
      continue;
    }
    const left = await deps.uow.read.dataKeys.countStale(keyId);
    if (total(left) === 0) stale = left;
  }
  // Out of passes: what is left decides (the grace has passed either way: every pass but the last waited it out).
  stale ??= await deps.uow.read.dataKeys.countStale(keyId);
  if (total(stale) > 0) {
    deps.logger.warn({ key_id: keyId, stale }, 'data key rotation not finished: values still use older keys');
    return { keyId, resumed: begun.resumed, resealed, passes, retired: [], stale, done: false };
  }
  const retiring = begun.retiring.map((k: DataKeyRecord) => k.id);
  await tx(deps.uow, meta(), async (r, changes) => {
    const n = await r.dataKeys.retire(retiring, changes.meta.now);
    changes.audit('data_key', DATA_KEYS_TENANT, keyId, 'data_key.rotation_finished', null, {
      retired: retiring,
      resealed,
    });
    return n;
  });
  deps.logger.info({ key_id: keyId, retired: retiring, resealed, passes }, 'data key rotation finished');
  return { keyId, resumed: begun.resumed, resealed, passes, retired: retiring, stale, done: true };
}
