import { JuheRechargeChannel } from '../adapters/recharge/juhe/juhe-channel.js';
import { ChannelRouter, type RechargeRuntime } from '../application/recharge/recharge-api.js';
import type { AppConfig } from '../config/load-config.js';
import { rechargeSettings } from '../config/recharge-schema.js';
import type { Clock } from '../ports/clock.js';
import type { RechargeChannel } from '../ports/recharge-channel.js';
import type { RoutingObserver } from '../ports/routing-observer.js';
import type { SimulatedCarriers } from '../simulator/simulated-carriers.js';
import { SimulatedRechargeChannel } from '../simulator/simulated-recharge-channel.js';
import type { Remote } from './build-gateways.js';

/**
 * Recharge channels and their router from the `recharge` section: simulated carriers by
 * default, the Juhe aggregator when configured.
 */
export function buildRecharge(
  config: AppConfig,
  clock: Clock,
  random: () => number,
  /** The simulated carriers' ground truth, built on the first call (only a simulator channel calls it). */
  carriers: () => SimulatedCarriers,
  given: ReadonlyMap<string, RechargeChannel> | undefined,
  remotes: Remote[],
  observer: RoutingObserver,
  /** This installation's secret for an embedded simulator, by name (never one written in the source). */
  simSecret: (label: string) => string,
  /** Wraps each channel (its calls as client spans when tracing exports them). */
  wrap: (name: string, channel: RechargeChannel) => RechargeChannel = (_name, channel) => channel,
): RechargeRuntime {
  const rc = config.recharge;
  const settings = rechargeSettings(rc);
  const channels = new Map<string, RechargeChannel>();
  for (const [name, c] of Object.entries(rc.channels)) {
    const supplied = given?.get(name);
    if (supplied !== undefined) {
      channels.set(name, supplied);
      continue;
    }
    switch (c.type) {
      case 'simulator':
        channels.set(
          name,
          new SimulatedRechargeChannel({
            name,
            carriers: carriers(),
            seed: c.seed,
            // Its callbacks reach a public route: signed with this installation's secret, not `sim-<name>`.
            callbackSecret: simSecret(`recharge-channel ${name}`),
            operatorSettings: settings.operatorSettings,
            now: () => clock.now(),
            profile: {
              chaos: {
                latencyMs: c.latency_ms,
                failureRate: c.failure_rate,
                timeoutRate: c.timeout_rate,
                errorRate: c.error_rate,
              },
              ...(c.processing_ms.max > 0 ? { processingMs: c.processing_ms } : {}),
              capacity: c.capacity,
            },
          }),
        );
        break;
      case 'juhe': {
        const juhe = new JuheRechargeChannel({
          name,
          baseUrl: c.base_url,
          apiKey: c.api_key,
          openId: c.openid_secret,
          operatorSettings: settings.operatorSettings,
          clock,
          maxSockets: c.max_sockets,
        });
        remotes.push({ shutdown: () => Promise.resolve(juhe.close()) });
        channels.set(name, juhe);
        break;
      }
      default: {
        const never: never = c;
        throw new Error(`unsupported recharge channel type ${String((never as { type?: unknown }).type)}`);
      }
    }
  }
  for (const [name, channel] of channels) channels.set(name, wrap(name, channel));
  const router = new ChannelRouter(
    Object.entries(rc.channels).map(([name, c]) => ({ name, operators: c.operators, capacity: c.capacity })),
    settings.routing,
    { clock, random, observer },
  );
  return {
    router,
    channels,
    operatorSettings: settings.operatorSettings,
    faceValues: settings.faceValues,
    rechargeableCategories: settings.rechargeableCategories,
    maxAttempts: rc.max_attempts,
    pollIntervalMs: rc.poll_interval_ms,
    processingDeadlineMs: rc.processing_deadline_ms,
  };
}

/** A configured repair rule (seconds) as the domain takes it (ms), for orders and recharges alike. */
export function ruleFromConfig<S extends string, A extends string>(r: {
  readonly name: string;
  readonly statuses: S[];
  readonly older_than_seconds: number;
  readonly younger_than_seconds?: number | undefined;
  readonly action: A;
}): { name: string; statuses: S[]; olderThanMs: number; youngerThanMs?: number; action: A } {
  return {
    name: r.name,
    statuses: r.statuses,
    olderThanMs: r.older_than_seconds * 1000,
    ...(r.younger_than_seconds === undefined ? {} : { youngerThanMs: r.younger_than_seconds * 1000 }),
    action: r.action,
  };
}
