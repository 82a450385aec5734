import type { RechargeRule, Rule } from '../../domain/rules.js';
import { JOB } from '../jobs/job-kinds.js';
import type { JobHandler } from '../jobs/job-runner.js';
import type { Runtime } from '../jobs/runtime.js';
import type { RechargeRuntime } from '../recharge/recharge-api.js';
import { orderRuleRunner, sweepOrderRules } from './order-rules.js';
import { rechargeRuleRunner, sweepRechargeRules } from './recharge-rules.js';

/** Repair rules: what finds stuck or contradictory orders and recharges and settles them. */
export interface RulesApi {
  /** Look for stuck orders and recharges now and queue the repairs (the timer calls this; tests call it directly). */
  sweep(): Promise<number>;
  /** Sweep every `intervalMs` (0 = never on a timer) until `stop`. */
  start(): void;
  stop(): void;
}

export interface RulesSettings {
  readonly orderRules: readonly Rule[];
  readonly rechargeRules: readonly RechargeRule[];
  /** How often the rules look (0 = never on a timer), and how many subjects per rule per sweep. */
  readonly sweepIntervalMs: number;
  readonly sweepLimit: number;
}

export function createRules(
  runtime: Runtime,
  rt: RechargeRuntime | undefined,
  settings: RulesSettings,
): { readonly api: RulesApi; readonly jobs: Record<string, JobHandler> } {
  const { deps, runner } = runtime;
  const rechargeRules = rt === undefined ? [] : settings.rechargeRules;
  let cancel: (() => void) | undefined;
  const api: RulesApi = {
    async sweep() {
      const limit = settings.sweepLimit;
      const queued =
        (await sweepOrderRules(deps, settings.orderRules, limit)) +
        (await sweepRechargeRules(deps, rechargeRules, limit));
      if (queued > 0) runner.wake();
      return queued;
    },
    start() {
      const every = settings.sweepIntervalMs;
      if (every <= 0 || cancel !== undefined || settings.orderRules.length + rechargeRules.length === 0) return;
      const tick = (): void => {
        api
          .sweep()
          .catch((e: unknown) => deps.logger.error({ err: e }, 'repair-rule sweep failed'))
          .finally(() => {
            if (cancel !== undefined) cancel = deps.clock.schedule(every, tick);
          });
      };
      cancel = deps.clock.schedule(every, tick);
    },
    stop() {
      const c = cancel;
      cancel = undefined;
      c?.();
    },
  };
  return {
    api,
    jobs: {
      [JOB.orderRule]: orderRuleRunner(deps, settings.orderRules),
      ...(rt === undefined ? {} : { [JOB.rechargeRule]: rechargeRuleRunner(deps, settings.rechargeRules, rt) }),
    },
  };
}
