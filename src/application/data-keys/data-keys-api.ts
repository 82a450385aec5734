import type { DataKeyRecord } from '../../ports/records.js';
import type { Deps } from '../kernel/deps.js';
import { rotateDataKey, type RotationProgress, type RotationReport, type RotationSettings } from './rotate-data-key.js';

export type { RotationProgress, RotationReport, RotationSettings } from './rotate-data-key.js';
export { DATA_KEYS_ACTOR } from './rotate-data-key.js';

/** The data keys that seal phone numbers and conversations at rest. */
export interface DataKeysApi {
  /** Rotate the data key: see `rotateDataKey`. One at a time per process. */
  rotate(onProgress?: (p: RotationProgress) => void): Promise<RotationReport>;
  /** The keys (ids and lives, never material) and how many values are not sealed with the active one. */
  status(): Promise<{ readonly keys: readonly DataKeyRecord[]; readonly stale: Readonly<Record<string, number>> }>;
  /** Look for a new active key (a rotation run elsewhere) now and then: `refreshMs` apart. */
  start(): void;
  stop(): void;
}

export interface DataKeysSettings extends RotationSettings {
  /** How often this process looks for a new active key (0 = never on a timer). */
  readonly refreshMs: number;
}

export function createDataKeys(
  deps: Pick<Deps, 'uow' | 'clock' | 'logger'>,
  settings: DataKeysSettings,
): { readonly api: DataKeysApi } {
  let running: Promise<RotationReport> | undefined;
  let cancel: (() => void) | undefined;
  const api: DataKeysApi = {
    rotate(onProgress) {
      running ??= rotateDataKey(deps, settings, onProgress).finally(() => {
        running = undefined;
      });
      return running;
    },
    async status() {
      const keys = await deps.uow.read.dataKeys.list();
      const active = keys.find((k) => k.status === 'active');
      return { keys, stale: active === undefined ? {} : await deps.uow.read.dataKeys.countStale(active.id) };
    },
    start() {
      if (settings.refreshMs <= 0 || cancel !== undefined) return;
      const tick = (): void => {
        deps.uow.read.dataKeys
          .refresh()
          .catch((e: unknown) => deps.logger.warn({ err: e }, 'looking for a new data key failed'))
          .finally(() => {
            if (cancel !== undefined) cancel = deps.clock.schedule(settings.refreshMs, tick);
          });
      };
      cancel = deps.clock.schedule(settings.refreshMs, tick);
    },
    stop() {
      const c = cancel;
      cancel = undefined;
      c?.();
    },
  };
  return { api };
}
