import { assertNever, err, ok, type Result } from './result.js';

/**
 * A wallet top-up: money paid through a gateway onto a user's prepaid balance. Its out_trade_no
 * is fixed when it is created, so every retry and every resume asks the gateway about the same
 * charge; it ends SUCCEEDED (the balance grew) or FAILED (nothing moved).
 */
export const TOP_UP_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED'] as const;
export type TopUpStatus = (typeof TOP_UP_STATUSES)[number];

export type TopUpEvent = { readonly type: 'succeed' } | { readonly type: 'fail'; readonly reason: string };

export function transitionTopUp(status: TopUpStatus, event: TopUpEvent): Result<TopUpStatus> {
  switch (status) {
    case 'PENDING':
      return ok(event.type === 'succeed' ? 'SUCCEEDED' : 'FAILED');
    case 'SUCCEEDED':
    case 'FAILED':
      return err('ILLEGAL_TRANSITION', `a top-up in ${status} cannot take the event ${event.type}`, {
        resource: 'top_up',
        from: status,
        event: event.type,
      });
    default:
      return assertNever(status);
  }
}
