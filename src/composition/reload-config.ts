import { tx } from '../application/kernel/tx.js';
import type { AppConfig, ConfigResult } from '../config/load-config.js';
import type { Menu } from '../domain/menu.js';
import { type Policy, policySchema } from '../domain/policy.js';
import { err, ok } from '../domain/result.js';
import type { RechargeRule, Rule } from '../domain/rules.js';
import type { ConfigReloader } from '../ports/config-reload.js';
import type { Logger } from '../ports/logger.js';
import type { UnitOfWork } from '../ports/repositories.js';
import type { Clock } from '../ports/clock.js';

/**
 * What a reload may replace in a running process: read through getters on every decision (the
 * policy, the menu) or replaced in place (the custom repair rules, whose arrays the rules
 * capability holds; a sweep already running finishes with the rules it started with or the new
 * ones, never a mix of halves of one rule).
 */
export interface LiveConfig {
  policy: Policy;
  menu: Menu;
  readonly orderRules: Rule[];
  readonly rechargeRules: RechargeRule[];
}

/** The reloadable sections and how each is read from a configuration. */
const RELOADABLE: ReadonlyArray<readonly [string, (c: AppConfig) => unknown]> = [
  ['policy', (c) => c.policy],
  ['menu', (c) => c.menu],
  ['rules.custom', (c) => c.rules.custom],
  ['rules.custom_recharge', (c) => c.rules.custom_recharge],
];
/** Top-level keys a reload takes (the policy's own keys sit at the root of the configuration). */
const RELOADED_KEYS = new Set(['policy', 'menu', ...Object.keys(policySchema.shape)]);

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export interface ReloaderOptions {
  /** Read the configuration again from the sources the process started with (undefined: none to read). */
  readonly load: (() => ConfigResult) | undefined;
  readonly live: LiveConfig;
  /** Build the rules of a configuration the way the start did. */
  readonly rulesOf: (c: AppConfig) => { orderRules: Rule[]; rechargeRules: RechargeRule[] };
  readonly uow: UnitOfWork;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly initial: AppConfig;
}

/** Reload policy, menu and custom repair rules: validated whole first, audited, never half-applied. */
export function configReloader(o: ReloaderOptions): ConfigReloader {
  let current = o.initial;
  // One reload at a time: two at once would each compare against the same "before".
  let queue: Promise<unknown> = Promise.resolve();
  return {
    reload(request) {
      const run = queue.then(async () => {
        if (o.load === undefined)
          return err('RELOAD_UNAVAILABLE', 'this process has no configuration source to read again');
        const loaded = o.load();
        if (!loaded.ok) {
          o.logger.error(
            { actor: request.actor, issues: loaded.error.issues },
            'configuration reload refused: the running configuration stays',
          );
          return err('CONFIG_INVALID', `${loaded.error.message}: ${loaded.error.issues.join('; ')}`, {
            issues: loaded.error.issues,
          });
        }
        const next = loaded.value;
        const changed = RELOADABLE.filter(([, read]) => !same(read(current), read(next))).map(([name]) => name);
        const restartRequired = Object.keys(next).filter(
          (k) =>
            !RELOADED_KEYS.has(k) &&
            (k === 'rules'
              ? !same(
                  { ...current.rules, custom: [], custom_recharge: [] },
                  { ...next.rules, custom: [], custom_recharge: [] },
                )
              : !same((current as Record<string, unknown>)[k], (next as Record<string, unknown>)[k])),
        );
        if (changed.length > 0) {
          const before = Object.fromEntries(
            RELOADABLE.filter(([n]) => changed.includes(n)).map(([n, r]) => [n, r(current)]),
          );
          const after = Object.fromEntries(
            RELOADABLE.filter(([n]) => changed.includes(n)).map(([n, r]) => [n, r(next)]),
          );
          // Audited first: a reload nobody can trace back to a person does not happen.
          await tx(o.uow, { actor: request.actor, now: o.clock.now(), requestId: request.requestId }, (_r, changes) => {
            changes.audit('config', request.tenantId, 'runtime', 'config.reloaded', before, after);
            return Promise.resolve();
          });
          const rules = o.rulesOf(next);
          o.live.policy = next.policy;
          o.live.menu = next.menu;
          o.live.orderRules.splice(0, o.live.orderRules.length, ...rules.orderRules);
          o.live.rechargeRules.splice(0, o.live.rechargeRules.length, ...rules.rechargeRules);
          current = {
            ...current,
            policy: next.policy,
            menu: next.menu,
            rules: { ...current.rules, custom: next.rules.custom, custom_recharge: next.rules.custom_recharge },
          };
        }
        o.logger.info(
          { actor: request.actor, changed, restart_required: restartRequired },
          changed.length > 0 ? 'configuration reloaded' : 'configuration reloaded: nothing changed',
        );
        if (restartRequired.length > 0)
          o.logger.warn({ keys: restartRequired }, 'these configuration keys changed but apply only after a restart');
        return ok({ changed, restartRequired });
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}
