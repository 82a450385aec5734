import { can } from '../../domain/auth/permissions.js';
import type { Caller } from './caller.js';

/**
 * Whose resources a caller may see and act on — checked in every use case, not only in the
 * routes, so the agent's words and a model's tool calls meet the same wall as the HTTP API. A
 * resource the caller may not see does not exist for them (the same NOT_FOUND as a missing one).
 */
export function canSee(caller: Caller, owner: string): boolean {
  return owner === caller.userId || can(caller.role, 'tenant.read_all');
}

export function canActOn(caller: Caller, owner: string): boolean {
  return owner === caller.userId || can(caller.role, 'tenant.act_for_all');
}
