import { AlipayGateway } from '../adapters/gateways/alipay/alipay-gateway.js';
import { SimulatorHttpGateway } from '../adapters/gateways/simulator-http/simulator-http-gateway.js';
import { wechatpayGatewayFromSettings } from '../adapters/gateways/wechatpay/wechatpay-keys.js';
import { ResilientGateway } from '../adapters/resilience/resilient-gateway.js';
import type { Deps } from '../application/kernel/deps.js';
import type { AppConfig } from '../config/load-config.js';
import { chooseGateway, type GatewayRoute } from '../domain/gateway-routing.js';
import type { Clock } from '../ports/clock.js';
import type { PaymentGateway } from '../ports/payment-gateway.js';
import type { SimulatedGateway } from '../simulator/simulated-gateway.js';

/** Something holding kept-alive connections, closed on shutdown. */
export interface Remote {
  shutdown(): Promise<void>;
}

/**
 * The configured payment gateways, each behind its own resilience (timeout, retry, breaker,
 * bulkhead), and the routing that picks one for a new payment.
 */
export function buildGateways(
  config: AppConfig,
  /** The in-process simulator, built on the first call (only a `simulator` entry calls it). */
  simulator: () => SimulatedGateway,
  clock: Pick<Clock, 'now'>,
  remotes: Remote[],
  /** Wraps each gateway inside its resilience (its calls as client spans when tracing exports them). */
  wrap: (name: string, gateway: PaymentGateway) => PaymentGateway = (_name, gateway) => gateway,
): { readonly gateways: ReadonlyMap<string, PaymentGateway>; readonly routeGateway: Deps['routeGateway'] } {
  const rs = config.resilience;
  const resilience = {
    timeoutMs: rs.timeout_ms,
    maxAttempts: rs.max_attempts,
    backoffInitialMs: rs.backoff_initial_ms,
    backoffMaxMs: rs.backoff_max_ms,
    maxRetryAfterMs: rs.max_retry_after_ms,
    breakerThreshold: rs.breaker_threshold,
    breakerWindowMs: rs.breaker_window_ms,
    breakerMinimumRps: rs.breaker_minimum_rps,
    halfOpenAfterMs: rs.half_open_after_ms,
    bulkheadLimit: rs.bulkhead_limit,
    bulkheadQueue: rs.bulkhead_queue,
  };
  const resilient = new Map<string, ResilientGateway>();
  const gateways = new Map<string, PaymentGateway>();
  const add = (name: string, g: PaymentGateway): void => {
    // Each configured name gets its own breaker, even when two names share one simulator.
    const wrapped = new ResilientGateway(wrap(name, g), resilience, name);
    resilient.set(name, wrapped);
    gateways.set(name, wrapped);
  };
  for (const [name, g] of Object.entries(config.gateways)) {
    switch (g.type) {
      case 'simulator':
        add(name, simulator());
        break;
      case 'alipay':
        add(
          name,
          new AlipayGateway({
            name,
            appId: g.app_id,
            privateKey: g.private_key,
            alipayPublicKey: g.alipay_public_key,
            gatewayUrl: g.gateway_url,
            timeoutMs: g.timeout_ms,
            ...(g.notify_url === undefined ? {} : { notifyUrl: g.notify_url }),
            clock,
          }),
        );
        break;
      case 'wechatpay':
        add(name, wechatpayGatewayFromSettings(name, g));
        break;
      case 'simulator-http': {
        const remote = new SimulatorHttpGateway({
          name,
          baseUrl: g.base_url,
          secret: g.secret,
          timeoutMs: g.timeout_ms,
          connections: g.connections,
          ...(g.notify_secret === undefined ? {} : { notifySecret: g.notify_secret }),
          ...(g.methods === undefined ? {} : { methods: g.methods }),
        });
        remotes.push(remote);
        add(name, remote);
        break;
      }
      default: {
        const never: never = g;
        // Only the type: the entry holds keys, which never go into a message.
        throw new Error(`unsupported gateway type ${String((never as { type?: unknown }).type)}`);
      }
    }
  }
  const routes: GatewayRoute[] = (config.payment_routing ?? [{ gateway: config.payment_gateway, priority: 0 }]).map(
    (r) => ({
      gateway: r.gateway,
      priority: r.priority,
      ...(r.methods === undefined ? {} : { methods: r.methods }),
      ...(r.min_amount === undefined ? {} : { minAmount: r.min_amount }),
      ...(r.max_amount === undefined ? {} : { maxAmount: r.max_amount }),
    }),
  );
  const routeGateway: Deps['routeGateway'] = (request) => {
    const states = new Map(
      [...resilient].map(([name, g]) => [name, { methods: g.methods, available: g.health().available }]),
    );
    return chooseGateway(routes, states, request);
  };
  return { gateways, routeGateway };
}
