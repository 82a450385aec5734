import { PRINCIPAL_ID_RE } from '../../domain/auth/credentials.js';
import { can, type Role } from '../../domain/auth/permissions.js';
import { err, ok, type Result } from '../../domain/result.js';
import type { Caller } from '../kernel/caller.js';

/** Who a credential belongs to, as authentication found it. */
export interface Principal {
  readonly tenantId: string;
  readonly id: string;
  readonly role: Role;
  readonly kind: 'person' | 'agent';
  /** An agent's person. */
  readonly actsFor: string | null;
  /** The API key used, when it was one (for rate limits and audit). */
  readonly keyId?: string;
}

/**
 * The caller a principal's request runs as. A person acts for themself; an agent for its person
 * (audited as the agent); an operator or admin for themself — or, naming a person (`actFor`),
 * for that person, audited as the operator acting for them. Nobody else may name a person.
 */
export function callerOf(p: Principal, requestId: string | null, actFor?: string): Result<Caller> {
  if (actFor !== undefined) {
    if (!can(p.role, 'tenant.act_for_all')) {
      return err('FORBIDDEN', 'only an operator or an admin may act for another person');
    }
    if (!PRINCIPAL_ID_RE.test(actFor)) return err('VALIDATION_FAILED', 'the person to act for is not a valid id');
    return ok({
      tenantId: p.tenantId,
      userId: actFor,
      actor: `${p.role}:${p.id} for user:${actFor}`,
      requestId,
      role: p.role,
      principalId: p.id,
    });
  }
  if (p.kind === 'agent') {
    const person = p.actsFor ?? p.id;
    return ok({
      tenantId: p.tenantId,
      userId: person,
      actor: `agent:${p.id} for user:${person}`,
      requestId,
      role: p.role,
      agentId: p.id,
      principalId: p.id,
    });
  }
  const actor = p.role === 'user' ? `user:${p.id}` : `${p.role}:${p.id}`;
  return ok({ tenantId: p.tenantId, userId: p.id, actor, requestId, role: p.role, principalId: p.id });
}
