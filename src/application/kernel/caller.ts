import type { Role } from '../../domain/auth/permissions.js';

/** Who asks, on whose behalf, inside which tenant. */
export interface Caller {
  readonly tenantId: string;
  /** The person the request acts for (an agent's person; an operator's own id). */
  readonly userId: string;
  /** Recorded as the actor of every change, e.g. `user:alice`, `agent:a1 for user:alice`. */
  readonly actor: string;
  readonly requestId: string | null;
  /** What the credential may do (`domain/auth/permissions.ts`). */
  readonly role: Role;
  /**
   * The principal whose credential made the request (an admin acting for a person is still
   * themself here): what "yourself" means when an admin changes people.
   */
  readonly principalId?: string;
  /** The agent principal, when an agent asks (its mandates are looked up by it). */
  readonly agentId?: string;
  /**
   * Where the request came from, as abuse counting keys it (`credential:<hash>` or `ip:<addr>`),
   * when a transport knows: a mandate violation counts against it.
   */
  readonly source?: string;
}

/** The actors the system itself records changes as. */
export const SYSTEM = {
  worker: 'system:worker',
  expiry: 'system:expiry',
  rules: 'system:rules',
  maintenance: 'system:maintenance',
  reconciliation: 'system:reconciliation',
  bootstrap: 'system:bootstrap',
  gateway: (name: string): string => `gateway:${name}`,
  channel: (name: string): string => `channel:${name}`,
} as const;
