import type { OperatorId } from '../domain/recharge/number-segments.js';
import type { CallOutcome } from '../domain/routing/channel-window.js';

/**
 * Told by the channel router about every routed call as it happens (metrics counters). The
 * router's own books stay the source of truth; an observer only counts. Calls are synchronous
 * and must not throw.
 */
export interface RoutingObserver {
  /** A routed recharge call ended: success, a definite failure, or a timeout (unknown outcome). */
  callEnded(channel: string, outcome: CallOutcome): void;
  /** A recharge was routed to `channel` after trying another channel first. */
  failedOver(channel: string, operator: OperatorId): void;
  /** A channel's breaker opened (no traffic for the cool-down) or closed again (a probe succeeded). */
  breakerChanged?(channel: string, state: 'open' | 'closed', reason?: string): void;
}
