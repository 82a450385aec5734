import { ok, type Result } from '../../domain/result.js';
import type { AuditCheckpoint, AuditCheckpointSink } from '../../ports/audit-checkpoints.js';
import type { AuditRecord } from '../../ports/records.js';
import type { Deps } from '../kernel/deps.js';
import type { Caller } from '../kernel/caller.js';
import { type ChainReport, checkCheckpoints, type TenantChainReport, verifyTenantChains } from './verify-chain.js';

export type { ChainProblem, ChainProblemKind, ChainReport, ChainWalk, TenantChainReport } from './verify-chain.js';

/** How often the chain heads are checkpointed, and where to. */
export interface AuditSettings {
  /** 0 = never on a timer. */
  readonly checkpointIntervalMs: number;
  /** Where checkpoints go; none configured = no periodic checkpoints. */
  readonly sink?: AuditCheckpointSink;
}

/** One page of a resource's audit trail, and where the next page starts (null: the last page). */
export interface AuditPage {
  readonly rows: readonly AuditRecord[];
  readonly next: number | null;
}

/** The audit log: every resource's trail, and the proof that nobody rewrote it. */
export interface AuditApi {
  /** A resource's rows in the caller's tenant, oldest first, `limit` after row id `after`. */
  trail(
    caller: Caller,
    resource: { readonly type: string; readonly id: string },
    page: { readonly after: number; readonly limit: number },
  ): Promise<Result<AuditPage>>;
  /**
   * Walk every tenant's hash chains (or one tenant's), shard by shard, and check the given checkpoints against it;
   * the report names the first broken row.
   */
  verify(options?: {
    readonly tenantId?: string;
    readonly checkpoints?: readonly AuditCheckpoint[];
  }): Promise<ChainReport>;
  /** Every chain's (tenant, shard) head now. */
  heads(): Promise<AuditCheckpoint>;
  /** Write a checkpoint to the sink now if any head moved since the last one written (returns it). */
  checkpoint(): Promise<AuditCheckpoint | undefined>;
  start(): void;
  stop(): void;
}

export function createAudit(
  deps: Pick<Deps, 'uow' | 'clock' | 'logger'>,
  settings: AuditSettings,
): { readonly api: AuditApi } {
  const audit = deps.uow.read.audit;
  let last = '';
  let cancel: (() => void) | undefined;
  const api: AuditApi = {
    async trail(caller, resource, page) {
      const rows = await audit.trail(caller.tenantId, resource.type, resource.id, page.after, page.limit + 1);
      const shown = rows.slice(0, page.limit);
      return ok({ rows: shown, next: rows.length > page.limit ? (shown[shown.length - 1]?.id ?? null) : null });
    },
    async verify(options = {}) {
      const tenants =
        options.tenantId === undefined
          ? [...new Set((await audit.chains()).map((c) => c.tenantId))]
          : [options.tenantId];
      const reports: TenantChainReport[] = [];
      for (const t of tenants) reports.push(await verifyTenantChains(audit, t));
      const broken = reports.find((r) => r.problem !== undefined)?.problem;
      const pinned = await checkCheckpoints(audit, options.checkpoints ?? [], options.tenantId);
      const problem = broken ?? pinned.problem;
      return {
        ok: problem === undefined,
        tenants: reports,
        checkpointsChecked: pinned.checked,
        ...(problem === undefined ? {} : { problem }),
      };
    },
    async heads() {
      const at = deps.clock.now();
      return { at, heads: await audit.chainHeads() };
    },
    async checkpoint() {
      const sink = settings.sink;
      if (sink === undefined) return undefined;
      const cp = await api.heads();
      const key = JSON.stringify(cp.heads);
      if (key === last) return undefined;
      await sink.append(cp);
      last = key;
      return cp;
    },
    start() {
      if (settings.sink === undefined || settings.checkpointIntervalMs <= 0 || cancel !== undefined) return;
      const sink = settings.sink;
      const tick = (): void => {
        api
          .checkpoint()
          .catch((e: unknown) => deps.logger.warn({ err: e, sink: sink.describe }, 'audit checkpoint failed'))
          .finally(() => {
            if (cancel !== undefined) cancel = deps.clock.schedule(settings.checkpointIntervalMs, tick);
          });
      };
      cancel = deps.clock.schedule(settings.checkpointIntervalMs, tick);
    },
    stop() {
      const c = cancel;
      cancel = undefined;
      c?.();
    },
  };
  return { api };
}
