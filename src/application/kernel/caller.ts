/** Who asks, on whose behalf, inside which tenant. */
export interface Caller {
  readonly tenantId: string;
  readonly userId: string;
  /** Recorded as the actor of every change, e.g. `user:alice`. */
  readonly actor: string;
  readonly requestId: string | null;
}

/** The actors the system itself records changes as. */
export const SYSTEM = {
  worker: 'system:worker',
  expiry: 'system:expiry',
  rules: 'system:rules',
  maintenance: 'system:maintenance',
  gateway: (name: string): string => `gateway:${name}`,
  channel: (name: string): string => `channel:${name}`,
} as const;
