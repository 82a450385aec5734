import { startOfDay } from '../../domain/business-day.js';
import type { Repositories } from '../../ports/repositories.js';
import type { Caller } from './caller.js';
import type { Deps } from './deps.js';

/**
 * What a person has committed today across every spending action (orders and recharges), for the
 * daily limit. Read inside the deciding transaction; on PostgreSQL the orders' read takes the
 * person's spending lock first, so two decisions for one person never both slip under the limit.
 */
export async function spentToday(
  r: Repositories,
  deps: Pick<Deps, 'settings'>,
  caller: Caller,
  now: number,
  currency: string,
): Promise<number> {
  const since = startOfDay(now, deps.settings.dayOffsetMinutes);
  const orders = await r.orders.sumCommittedSince(caller.tenantId, caller.userId, since, currency);
  const recharges = await r.recharges.sumCommittedSince(caller.tenantId, caller.userId, since, currency);
  return orders + recharges;
}
