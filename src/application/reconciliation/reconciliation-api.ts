import { keys } from '../../domain/keys.js';
import { err, ok, type Result } from '../../domain/result.js';
import {
  keyOf,
  PROBLEM_CATEGORIES,
  reconcile,
  type ReconciliationReport,
  type RepairAction,
  type ReportItem,
} from '../../domain/statements/reconcile.js';
import { isBusinessDate } from '../../domain/statements/shanghai-time.js';
import type { StatementFile, StatementFormat, StatementLine } from '../../domain/statements/statement-line.js';
import type { ReconciliationRecord, RepairRecord } from '../../ports/reconciliations.js';
import type { Runtime } from '../jobs/runtime.js';
import type { Caller } from '../kernel/caller.js';
import { SYSTEM } from '../kernel/caller.js';
import { tx } from '../kernel/tx.js';
import { gatherLocal, type SourceKind } from './local-items.js';
import { fetcherOf, neighbourLines } from './neighbour-lines.js';
import type { StatementSources } from './statement-sources.js';

export type { StatementSources } from './statement-sources.js';
import { applyRepair } from './apply-repair.js';

const DAY_MS = 86_400_000;

export interface ReconciliationSettings {
  /** The business day's offset from UTC in minutes (Asia/Shanghai: 480): the statements' days. */
  readonly dayOffsetMinutes: number;
  /** A gateway's fee per payment in basis points (60 = 0.6 %); a source not named is not checked. */
  readonly feeBps: Readonly<Record<string, number>>;
  /** How long after the day an item missing at the channel is asked about again (T+2). */
  readonly recheckAfterMs: number;
  /** Repairs applied without a person (e.g. `flag`, `recheck`); the rest wait for an operator. */
  readonly autoApply: readonly RepairAction[];
}

export interface RepairView {
  readonly id: string;
  readonly item_key: string;
  readonly category: string;
  readonly action: RepairAction;
  readonly why: string;
  readonly not_before: string | null;
  readonly status: RepairRecord['status'];
  readonly result: string | null;
  readonly decided_by: string | null;
  readonly decided_at: string | null;
  readonly item: Readonly<Record<string, unknown>>;
}

/** What a list shows of a run: where it stands and its totals, without its items (GET one for those). */
export interface ReconciliationSummary {
  readonly id: string;
  readonly source: string;
  readonly date: string;
  readonly format: StatementFormat;
  readonly file: string;
  readonly status: ReconciliationRecord['status'];
  /** Why a `failed` run failed (its statement could not be had or read, or it broke); null when done. */
  readonly error: string | null;
  readonly created_at: string;
  readonly created_by: string;
  readonly clean: boolean;
  readonly totals: ReconciliationReport['totals'];
}

export type ReconciliationView = ReconciliationSummary & {
  readonly repairs: readonly RepairView[];
} & Omit<ReconciliationReport, 'clean' | 'totals'>;

export interface RunRequest {
  readonly source: string;
  readonly date: string;
  /** A statement a person downloaded themselves; absent: fetched from the source. */
  readonly file?: { readonly bytes: Uint8Array; readonly name: string; readonly format?: StatementFormat };
  /**
   * False: a statement the source cannot give (yet) is answered STATEMENT_UNAVAILABLE without being
   * kept as a failed run — the daily job's tries before its last, which try again later. Default true.
   */
  readonly keepUnavailable?: boolean;
}

export interface ReconciliationApi {
  /** Reconcile a source's day: fetch (or take) its statement, match, store the report, propose repairs. */
  run(caller: Caller, request: RunRequest): Promise<Result<ReconciliationView>>;
  get(caller: Caller, id: string): Promise<Result<ReconciliationView>>;
  list(
    caller: Caller,
    filter: { readonly source?: string; readonly date?: string; readonly before?: string; readonly limit: number },
  ): Promise<Result<ReconciliationSummary[]>>;
  /** Apply one proposed repair (idempotent: an applied one answers as it is). */
  apply(caller: Caller, repairId: string): Promise<Result<RepairView>>;
  /** The sources that can be reconciled, and their statement layouts. */
  sources(): Array<{ readonly name: string; readonly kind: SourceKind; readonly fetches: boolean }>;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function repairView(r: RepairRecord): RepairView {
  return {
    id: r.id,
    item_key: r.itemKey,
    category: r.category,
    action: r.action,
    why: r.why,
    not_before: iso(r.notBefore),
    status: r.status,
    result: r.result,
    decided_by: r.decidedBy,
    decided_at: iso(r.decidedAt),
    item: r.item,
  };
}

/** `YYYY-MM-DD` as the business day's [from, to) in ms, or undefined when it is not a real date. */
export function businessDay(date: string, offsetMinutes: number): { from: number; to: number } | undefined {
  if (!isBusinessDate(date)) return undefined;
  const from = Date.parse(`${date}T00:00:00Z`) - offsetMinutes * 60_000;
  return { from, to: from + DAY_MS };
}

export function createReconciliation(
  runtime: Runtime,
  sources: StatementSources,
  settings: ReconciliationSettings,
): { readonly api: ReconciliationApi } {
  const { deps } = runtime;
  const kindOf = (name: string): SourceKind | undefined =>
    sources.gateways.has(name) ? 'gateway' : sources.recharge?.channels.has(name) === true ? 'channel' : undefined;

  const summaryOf = (run: ReconciliationRecord): ReconciliationSummary => {
    const report = run.report ?? emptyReport();
    return {
      id: run.id,
      source: run.source,
      date: run.businessDate,
      format: run.format,
      file: run.fileName,
      status: run.status,
      error: run.error,
      created_at: new Date(run.createdAt).toISOString(),
      created_by: run.createdBy,
      // A run that failed proves nothing clean.
      clean: run.status === 'done' && report.clean,
      totals: report.totals,
    };
  };
  const viewOf = async (run: ReconciliationRecord): Promise<ReconciliationView> => {
    const repairs = await deps.uow.read.reconciliations.repairsOf(run.source, run.businessDate);
    const { clean: _clean, totals: _totals, ...items } = run.report ?? emptyReport();
    return { ...summaryOf(run), ...items, repairs: repairs.map(repairView) };
  };

  const newRun = (
    caller: Caller,
    request: RunRequest,
    file: { readonly format: StatementFormat; readonly name: string },
    now: number,
    outcome: Pick<ReconciliationRecord, 'status' | 'error' | 'report'>,
  ): ReconciliationRecord => ({
    id: deps.ids.next('rcn'),
    tenantId: caller.tenantId,
    source: request.source,
    businessDate: request.date,
    format: file.format,
    fileName: file.name,
    ...outcome,
    createdBy: caller.actor,
    createdAt: now,
  });

  /**
   * Keep a run that failed (its fetched statement could not be had or read, or the run broke) so
   * an operator sees it among the runs, with why; the caller then answers the failure.
   */
  const recordFailure = async (
    caller: Caller,
    request: RunRequest,
    file: { readonly format: StatementFormat | undefined; readonly name: string },
    error: string,
  ): Promise<string | undefined> => {
    if (file.format === undefined) return undefined;
    const now = deps.clock.now();
    const run = newRun(caller, request, { format: file.format, name: file.name }, now, {
      status: 'failed',
      error: error.slice(0, 2_000),
      report: null,
    });
    await tx(deps.uow, { actor: caller.actor, now, requestId: caller.requestId }, async (r, changes) => {
      await r.reconciliations.insert(run);
      changes.audit('reconciliation', caller.tenantId, run.id, 'reconciliation.failed', null, {
        source: run.source,
        date: run.businessDate,
        error: run.error,
      });
    });
    deps.logger.warn(
      { reconciliation_id: run.id, source: run.source, date: run.businessDate, error: run.error },
      'reconciliation failed',
    );
    return run.id;
  };

  const readAll = async (file: StatementFile): Promise<Result<StatementLine[]>> => {
    const lines: StatementLine[] = [];
    try {
      for await (const line of sources.readStatement(file)) lines.push(line);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      const message = e instanceof Error ? e.message : String(e);
      if (code === 'STATEMENT_INVALID') return err('STATEMENT_INVALID', `${file.name}: ${message}`);
      return err('STATEMENT_INVALID', `${file.name} could not be read as ${file.format}: ${message}`);
    }
    return ok(lines);
  };

  const api: ReconciliationApi = {
    sources() {
      const out: Array<{ name: string; kind: SourceKind; fetches: boolean }> = [];
      for (const [name, g] of sources.gateways) out.push({ name, kind: 'gateway', fetches: g.statement !== undefined });
      for (const [name, c] of sources.recharge?.channels ?? [])
        out.push({ name, kind: 'channel', fetches: c.statement !== undefined });
      return out;
    },

    async run(caller, request) {
      const kind = kindOf(request.source);
      if (kind === undefined) {
        return err('RECONCILIATION_SOURCE_UNKNOWN', `no gateway or recharge channel is named "${request.source}"`, {
          sources: api.sources().map((s) => s.name),
        });
      }
      const day = businessDay(request.date, settings.dayOffsetMinutes);
      if (day === undefined) {
        return err('VALIDATION_FAILED', `date must be a real day as YYYY-MM-DD, not "${request.date.slice(0, 40)}"`);
      }
      let file: StatementFile;
      if (request.file !== undefined) {
        const format = request.file.format ?? sources.formatOf(request.source);
        if (format === undefined) {
          return err(
            'VALIDATION_FAILED',
            `say the file's format (alipay, wechatpay or juhe): ${request.source} has none of its own`,
          );
        }
        file = { format, bytes: request.file.bytes, name: request.file.name };
      } else {
        const fetch = fetcherOf(sources, request.source);
        if (fetch === undefined) {
          return err(
            'STATEMENT_UNAVAILABLE',
            `${request.source} gives no statement to fetch: pass the file you downloaded`,
          );
        }
        try {
          file = await fetch(request.date);
        } catch (e) {
          const message = `${request.source} did not give its statement of ${request.date}: ${messageOf(e)}`;
          if (request.keepUnavailable === false) return err('STATEMENT_UNAVAILABLE', message);
          const id = await recordFailure(
            caller,
            request,
            { format: sources.formatOf(request.source), name: `${request.source}-${request.date}` },
            message,
          );
          return err('STATEMENT_UNAVAILABLE', message, id === undefined ? {} : { reconciliation_id: id });
        }
      }
      try {
        return await reconcileFile(caller, request, kind, day, file);
      } catch (e) {
        // Unexpected: kept as a failed run (visible over the API), then thrown on as any bug is.
        await recordFailure(caller, request, file, messageOf(e)).catch(() => undefined);
        throw e;
      }
    },

    async get(_caller, id) {
      const run = await deps.uow.read.reconciliations.get(id);
      return run === undefined ? err('RECONCILIATION_NOT_FOUND', `no reconciliation ${id}`) : ok(await viewOf(run));
    },

    async list(_caller, filter) {
      const runs = await deps.uow.read.reconciliations.list({
        ...(filter.source === undefined ? {} : { source: filter.source }),
        ...(filter.date === undefined ? {} : { businessDate: filter.date }),
        ...(filter.before === undefined ? {} : { beforeId: filter.before }),
        limit: filter.limit,
      });
      return ok(runs.map(summaryOf));
    },

    async apply(caller, repairId) {
      const repair = await deps.uow.read.reconciliations.getRepair(repairId);
      if (repair === undefined) return err('REPAIR_NOT_FOUND', `no repair ${repairId}`);
      if (repair.status === 'applied') return ok(repairView(repair));
      if (repair.notBefore !== null && repair.notBefore > deps.clock.now()) {
        return err('REPAIR_NOT_DUE', `this repair waits until ${new Date(repair.notBefore).toISOString()} (T+2)`, {
          not_before: new Date(repair.notBefore).toISOString(),
        });
      }
      return ok(repairView(await applyRepair(deps, sources, caller, repair)));
    },
  };

  /** Read a statement file, match it against our records, store the report and propose repairs. */
  const reconcileFile = async (
    caller: Caller,
    request: RunRequest,
    kind: SourceKind,
    day: { from: number; to: number },
    file: StatementFile,
  ): Promise<Result<ReconciliationView>> => {
    const lines = await readAll(file);
    if (!lines.ok) {
      // A statement we fetched that cannot be read is the run's failure; a file a person gave is a bad request.
      if (request.file !== undefined) return lines;
      const id = await recordFailure(caller, request, file, lines.error.message);
      return id === undefined ? lines : err(lines.error.code, lines.error.message, { reconciliation_id: id });
    }
    const { local, ofTheDay } = await gatherLocal(deps.uow.read, { kind, name: request.source }, day, lines.value);
    // Items of the day this statement lacks: looked for on the neighbouring days' (the cut-off window).
    const onStatement = new Set(lines.value.map(keyOf));
    const absent = new Set(
      ofTheDay
        .filter((i) => i.status === 'SUCCESS' && i.at >= day.from && i.at < day.to)
        .map(keyOf)
        .filter((k) => !onStatement.has(k)),
    );
    const neighbours = await neighbourLines(
      sources,
      request.source,
      request.date,
      deps.clock.now() >= day.to,
      absent,
      (date, e) =>
        deps.logger.info(
          { source: request.source, date, error: messageOf(e) },
          'neighbouring statement not available for the cut-off window',
        ),
    );
    const before = await deps.uow.read.reconciliations.repairsOf(request.source, request.date);
    // An applied repair answers its item; a capture given back also answers the refund it made.
    const explained = new Set(
      before
        .filter((r) => r.status === 'applied')
        .flatMap((r) =>
          r.action === 'refund_unknown_capture'
            ? [r.itemKey, `refund:${keys.lateCaptureRefund(r.itemKey.slice('payment:'.length))}`]
            : [r.itemKey],
        ),
    );
    const report = reconcile({
      day,
      lines: lines.value,
      local,
      ofTheDay,
      expectedFee: (k, amount) => {
        const bps = settings.feeBps[request.source];
        return k === 'payment' && bps !== undefined ? Math.round((amount * bps) / 10_000) : null;
      },
      explained,
      recheckAfterMs: settings.recheckAfterMs,
      neighbours,
    });
    const now = deps.clock.now();
    const run = newRun(caller, request, file, now, { status: 'done', error: null, report });
    const proposed = await tx(
      deps.uow,
      { actor: caller.actor, now, requestId: caller.requestId },
      async (r, changes) => {
        await r.reconciliations.insert(run);
        const made: RepairRecord[] = [];
        for (const category of PROBLEM_CATEGORIES) {
          for (const item of report[category]) {
            if (item.repair === null) continue;
            made.push(
              await r.reconciliations.propose({
                id: deps.ids.next('rpr'),
                tenantId: caller.tenantId,
                reconciliationId: run.id,
                source: run.source,
                businessDate: run.businessDate,
                itemKey: item.key,
                category,
                action: item.repair.action,
                why: item.repair.why,
                notBefore: item.repair.notBefore,
                item: itemDetail(item),
                status: 'proposed',
                result: null,
                decidedBy: null,
                decidedAt: null,
                createdAt: now,
                version: 1,
              }),
            );
          }
        }
        changes.audit('reconciliation', caller.tenantId, run.id, 'reconciliation.run', null, {
          source: run.source,
          date: run.businessDate,
          file: run.fileName,
          clean: report.clean,
          counts: Object.fromEntries(Object.entries(report.totals.categories).map(([c, t]) => [c, t.count])),
        });
        return made;
      },
    );
    deps.logger.info(
      { reconciliation_id: run.id, source: run.source, date: run.businessDate, clean: report.clean },
      'reconciliation ran',
    );
    // Repairs the configuration lets run without a person, once due.
    for (const repair of proposed) {
      if (repair.status !== 'proposed' || !settings.autoApply.includes(repair.action)) continue;
      if (repair.notBefore !== null && repair.notBefore > deps.clock.now()) continue;
      await applyRepair(deps, sources, { ...caller, actor: SYSTEM.reconciliation }, repair);
    }
    return ok(await viewOf(run));
  };

  return { api };
}

/** What a repair keeps of its item: enough to act on it and to show a person. */
function itemDetail(item: ReportItem): Record<string, unknown> {
  const { repair: _repair, ...rest } = item;
  return rest;
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function emptyReport(): ReconciliationReport {
  return reconcile({
    day: { from: 0, to: 0 },
    lines: [],
    local: new Map(),
    ofTheDay: [],
    expectedFee: () => null,
    explained: new Set(),
    recheckAfterMs: 0,
  });
}
