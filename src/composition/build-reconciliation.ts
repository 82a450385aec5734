import { readStatement } from '../adapters/statements/read-statement.js';
import { createDailyReconciliation } from '../application/reconciliation/daily.js';
import { createReconciliation, type ReconciliationApi } from '../application/reconciliation/reconciliation-api.js';
import type { Runtime } from '../application/jobs/runtime.js';
import type { JobHandler } from '../application/jobs/job-runner.js';
import type { RechargeRuntime } from '../application/recharge/recharge-api.js';
import type { StatementFormat } from '../domain/statements/statement-line.js';
import type { AppConfig } from '../config/load-config.js';

/** The layout each configured gateway or channel's statement comes in, by its type. */
function formatsOf(config: AppConfig): Map<string, StatementFormat> {
  const out = new Map<string, StatementFormat>();
  for (const [name, g] of Object.entries(config.gateways)) {
    // The embedded simulator writes Alipay's layout; a standalone one is asked (its face decides).
    if (g.type === 'alipay' || g.type === 'simulator') out.set(name, 'alipay');
    else if (g.type === 'wechatpay') out.set(name, 'wechatpay');
  }
  for (const [name, c] of Object.entries(config.recharge.channels)) {
    if (c.type === 'juhe' || c.type === 'simulator') out.set(name, 'juhe');
  }
  return out;
}

/** Reconciliation against the statements, and its daily run. */
export function buildReconciliation(
  config: AppConfig,
  runtime: Runtime,
  recharge: RechargeRuntime,
): {
  readonly api: ReconciliationApi;
  readonly jobs: Readonly<Record<string, JobHandler>>;
  start(): void;
  stop(): void;
} {
  const rc = config.reconciliation;
  const formats = formatsOf(config);
  const { api } = createReconciliation(
    runtime,
    { gateways: runtime.deps.gateways, recharge, readStatement, formatOf: (name) => formats.get(name) },
    {
      dayOffsetMinutes: runtime.deps.settings.dayOffsetMinutes,
      feeBps: rc.fee_bps,
      recheckAfterMs: rc.recheck_after_days * 86_400_000,
      autoApply: rc.auto_apply,
    },
  );
  const [hh, mm] = rc.schedule.at.split(':').map(Number) as [number, number];
  const daily = createDailyReconciliation(runtime, api, {
    atMinute: hh * 60 + mm,
    dayOffsetMinutes: runtime.deps.settings.dayOffsetMinutes,
    sources: rc.schedule.sources,
    tenantId: config.tenant.default_id,
  });
  return {
    api,
    jobs: daily.jobs,
    start: () => {
      if (rc.schedule.enabled) daily.start();
    },
    stop: () => daily.stop(),
  };
}
