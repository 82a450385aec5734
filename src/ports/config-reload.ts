import type { Result } from '../domain/result.js';

/** What a reload changed. */
export interface ReloadReport {
  /** Reloadable sections whose values changed and now apply (e.g. `policy`, `rules.custom`). */
  readonly changed: readonly string[];
  /** Top-level keys that differ in the file but apply only after a restart (storage, ports, secrets…). */
  readonly restartRequired: readonly string[];
}

/** Who asked for a reload: a person through the admin endpoint, or the operator's SIGHUP. */
export interface ReloadRequest {
  readonly actor: string;
  readonly tenantId: string;
  readonly requestId: string | null;
}

/**
 * Reloads the reloadable part of the configuration (policy, menu, custom repair rules) from the
 * sources the process started with, without a restart. The new configuration is validated whole
 * before anything is replaced: a bad file is refused (`CONFIG_INVALID`) and the running
 * configuration stays. Every reload that changes something is audited (who, before, after).
 */
export interface ConfigReloader {
  reload(request: ReloadRequest): Promise<Result<ReloadReport>>;
}
