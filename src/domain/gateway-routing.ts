import type { Money } from './money.js';
import { err, ok, type Result } from './result.js';

/** One routing rule: this gateway takes these methods within these amounts, at this priority. */
export interface GatewayRoute {
  readonly gateway: string;
  /** Methods it takes; absent = whatever the gateway itself offers. */
  readonly methods?: readonly string[];
  /** Inclusive bounds in minor units. */
  readonly minAmount?: number;
  readonly maxAmount?: number;
  /** Higher first. */
  readonly priority: number;
}

export interface GatewayState {
  /** Methods the gateway itself supports. */
  readonly methods: readonly string[];
  /** False while its circuit breaker is open. */
  readonly available: boolean;
}

/**
 * Choose the gateway for a new payment: the highest-priority route that takes the method and
 * the amount and whose gateway is available (an open breaker takes it out). Chosen once, before
 * the first call: a payment never changes gateway afterwards, which is what keeps it exactly-once.
 */
export function chooseGateway(
  routes: readonly GatewayRoute[],
  gateways: ReadonlyMap<string, GatewayState>,
  request: { readonly amount: Money; readonly method: string },
): Result<string> {
  const eligible = routes
    .filter((r) => {
      const g = gateways.get(r.gateway);
      if (g === undefined) return false;
      const methods = r.methods ?? g.methods;
      if (!methods.includes(request.method) || !g.methods.includes(request.method)) return false;
      if (r.minAmount !== undefined && request.amount.amount < r.minAmount) return false;
      return r.maxAmount === undefined || request.amount.amount <= r.maxAmount;
    })
    .sort((a, b) => b.priority - a.priority);
  if (eligible.length === 0) {
    return err(
      'GATEWAY_NOT_CONFIGURED',
      `no gateway takes ${request.method} for ${request.amount.amount} ${request.amount.currency}`,
      { method: request.method, amount: request.amount.amount },
    );
  }
  const up = eligible.find((r) => gateways.get(r.gateway)?.available === true);
  if (up === undefined) {
    return err(
      'GATEWAY_UNAVAILABLE',
      'every gateway that could take this payment is out of service right now; try again shortly',
      {
        gateways: eligible.map((r) => r.gateway),
      },
    );
  }
  return ok(up.gateway);
}
