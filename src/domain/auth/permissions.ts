/**
 * Who may do what: the ONE permission table, read by the HTTP layer (each route names its
 * permission), the CLI (through the API) and the agent/MCP paths (each action names its own).
 *
 * - `admin` manages credentials and may do everything an operator may.
 * - `operator` sees and repairs the whole tenant (refunds, cancels, confirms on a person's behalf —
 *   audited as such), but manages no credentials.
 * - `user` is a person: their own orders, recharges, wallet, batches and mandates.
 * - `agent` acts for exactly one person, within that person's mandates: it may ask for what the
 *   person may, but never confirm what policy held back, never grant or raise anything, never
 *   manage credentials.
 * - `viewer` reads the tenant, changes nothing.
 */
export const ROLES = ['admin', 'operator', 'user', 'agent', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'orders.place',
  'orders.read',
  'orders.confirm',
  'orders.cancel',
  'orders.refund',
  /** Record a failed refund as settled outside the system (an operator's judgement, audited). */
  'refunds.settle_outside',
  'payments.submit',
  'wallet.read',
  'wallet.top_up',
  'recharges.create',
  'recharges.read',
  'batches.create',
  'batches.read',
  'agent.message',
  'agent.confirm',
  'intents.parse',
  'actions.read',
  /** See the money actions the policy held for the person. */
  'holds.read',
  /** Confirm or reject them: the person (or an operator for them), never an agent. */
  'holds.confirm',
  'mandates.grant',
  'mandates.read',
  'mandates.revoke',
  /** See every person's resources in the tenant, not only one's own. */
  'tenant.read_all',
  /** Act on every person's resources in the tenant (refund, cancel, confirm for them). */
  'tenant.act_for_all',
  'ledger.read',
  /** Read any resource's audit trail in the tenant (GET /api/v1/audit). */
  'audit.read',
  'flags.read',
  'flags.resolve',
  'gateways.read',
  'channels.read',
  'keys.manage',
  'users.manage',
  'blocks.manage',
  'metrics.read',
  /** See the tenant's webhook endpoints and their delivery logs (never a secret). */
  'webhooks.read',
  /** Create, change and delete webhook endpoints: the admin's. */
  'webhooks.manage',
  /** Send a delivery again (a repair: operators too). */
  'webhooks.redeliver',
  /** Read reconciliations (they span the deployment's tenants: the admin's). */
  'reconciliations.read',
  /** Reconcile a source's day, and apply the repairs it proposes. */
  'reconciliations.run',
  /** Reload policy, menu and repair rules from the configuration without a restart: the admin's. */
  'config.reload',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const PERSON: readonly Permission[] = [
  'orders.place',
  'orders.read',
  'orders.confirm',
  'orders.cancel',
  'orders.refund',
  'payments.submit',
  'wallet.read',
  'wallet.top_up',
  'recharges.create',
  'recharges.read',
  'batches.create',
  'batches.read',
  'agent.message',
  'agent.confirm',
  'intents.parse',
  'actions.read',
  'holds.read',
  'holds.confirm',
  'mandates.grant',
  'mandates.read',
  'mandates.revoke',
];

const READ_TENANT: readonly Permission[] = [
  'orders.read',
  'wallet.read',
  'recharges.read',
  'batches.read',
  'intents.parse',
  'actions.read',
  'holds.read',
  'mandates.read',
  'tenant.read_all',
  'ledger.read',
  'audit.read',
  'flags.read',
  'gateways.read',
  'channels.read',
  'metrics.read',
  'webhooks.read',
];

const OPERATE: readonly Permission[] = [
  ...READ_TENANT,
  'orders.confirm',
  'orders.cancel',
  'orders.refund',
  'agent.message',
  'agent.confirm',
  'holds.confirm',
  'tenant.act_for_all',
  'flags.resolve',
  'refunds.settle_outside',
  'blocks.manage',
  'webhooks.redeliver',
];

/** The table itself: each role and what it may do. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  admin: new Set(PERMISSIONS),
  operator: new Set(OPERATE),
  user: new Set(PERSON),
  // An agent asks for what its person may (a refund it asks for waits for the person, unless
  // trusted or within a mandate) — but never confirms, grants or revokes.
  agent: new Set(
    PERSON.filter(
      (p) => !['agent.confirm', 'orders.confirm', 'holds.confirm', 'mandates.grant', 'mandates.revoke'].includes(p),
    ),
  ),
  viewer: new Set(READ_TENANT),
};

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

/**
 * What spans every tenant of the deployment, not one: the reconciliations (a gateway's statement
 * lists every tenant's money), the configuration's reload (one policy, menu and set of rules for
 * all) and the metrics (every tenant's counts). Only the home tenant's (`tenant.default_id`, the
 * deployment's own) credentials get these, whatever their role: an admin of a tenant the
 * deployment serves manages that tenant, never the deployment.
 */
export const DEPLOYMENT_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>([
  'reconciliations.read',
  'reconciliations.run',
  'config.reload',
  'metrics.read',
]);

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}
