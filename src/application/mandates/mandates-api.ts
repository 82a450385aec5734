import {
  MAX_MANDATE_MS,
  mandateClaims,
  mandateGrantSchema,
  type MandateTerms,
  periodEndOf,
  periodStartOf,
} from '../../domain/mandate.js';
import { err, ok, type Result } from '../../domain/result.js';
import type { MandateRecord } from '../../ports/mandates.js';
import type { Caller } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { canActOn, canSee } from '../kernel/ownership.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';

/** A mandate as the API shows it: its terms, where its budget stands this period, and its signature. */
export interface MandateView {
  readonly id: string;
  readonly user: string;
  readonly agent: string;
  readonly status: 'ACTIVE' | 'REVOKED' | 'EXPIRED';
  readonly actions: readonly string[];
  readonly payees: readonly string[];
  readonly currency: string;
  readonly max_per_transaction: number;
  readonly budget: number;
  readonly period: string;
  /** Spent in the current period, and what is left of its budget. */
  readonly spent: number;
  readonly remaining: number;
  readonly period_started_at: string;
  /** When the budget starts again (null: a `total` budget never does). */
  readonly period_ends_at: string | null;
  readonly created_at: string;
  readonly expires_at: string;
  readonly revoked_at: string | null;
  readonly revoked_by: string | null;
  /** The service's compact JWS (ES256) over the terms: check it with GET /api/v1/mandates/jwks. */
  readonly jws: string;
}

export interface MandatesApi {
  /** A person grants one of their agents a mandate (signed by the service). Never an agent. */
  grant(caller: Caller, body: unknown): Promise<Result<MandateView>>;
  /** A person's grants; an agent's own mandates from its person. Newest first. */
  list(caller: Caller): Promise<MandateView[]>;
  get(caller: Caller, id: string): Promise<Result<MandateView>>;
  /** Revoke at once: the next use on any instance finds it revoked. */
  revoke(caller: Caller, id: string): Promise<Result<MandateView>>;
  /** The public key mandates are signed with, as a JWK Set. */
  jwks(): { readonly keys: readonly Readonly<Record<string, unknown>>[] };
}

export function createMandates(deps: Deps): { readonly api: MandatesApi } {
  const view = (m: MandateRecord): MandateView => {
    const now = deps.clock.now();
    const start = periodStartOf(m.period, now, deps.settings.dayOffsetMinutes, m.createdAt);
    const spent = m.periodStart === start ? m.spent : 0;
    const end = periodEndOf(m.period, start, deps.settings.dayOffsetMinutes);
    return {
      id: m.id,
      user: m.userId,
      agent: m.agentId,
      status: m.revokedAt !== null ? 'REVOKED' : m.expiresAt <= now ? 'EXPIRED' : 'ACTIVE',
      actions: m.actions,
      payees: m.payees,
      currency: m.currency,
      max_per_transaction: m.maxPerTransaction,
      budget: m.budget,
      period: m.period,
      spent,
      remaining: Math.max(0, m.budget - spent),
      period_started_at: new Date(start).toISOString(),
      period_ends_at: end === null ? null : new Date(end).toISOString(),
      created_at: new Date(m.createdAt).toISOString(),
      expires_at: new Date(m.expiresAt).toISOString(),
      revoked_at: m.revokedAt === null ? null : new Date(m.revokedAt).toISOString(),
      revoked_by: m.revokedBy,
      jws: m.jws,
    };
  };
  /** Whether the caller may see a mandate: its person (or an operator), or the agent holding it. */
  const visible = (caller: Caller, m: MandateRecord): boolean =>
    caller.role === 'agent' ? m.agentId === caller.agentId && m.userId === caller.userId : canSee(caller, m.userId);
  const notFound = (id: string) => err('MANDATE_NOT_FOUND', `no mandate ${id}`);

  return {
    api: {
      grant: (caller, body) =>
        asResult(async () => {
          if (caller.role === 'agent') throw new UseCaseError('FORBIDDEN', 'an agent never grants itself a mandate');
          const parsed = mandateGrantSchema.safeParse(body);
          if (!parsed.success) {
            const issue = parsed.error.issues[0];
            throw new UseCaseError('VALIDATION_FAILED', issue?.message ?? 'invalid mandate', {
              field: issue?.path.join('.') ?? '',
            });
          }
          const g = parsed.data;
          const now = deps.clock.now();
          const expiresAt = Date.parse(g.expires_at);
          if (expiresAt <= now || expiresAt > now + MAX_MANDATE_MS) {
            throw new UseCaseError('VALIDATION_FAILED', 'expires_at is in the future, at most 366 days away', {
              field: 'expires_at',
            });
          }
          const terms: MandateTerms = {
            id: deps.ids.next('mdt'),
            tenantId: caller.tenantId,
            userId: caller.userId,
            agentId: g.agent,
            actions: [...new Set(g.actions)].sort(),
            payees: [...new Set(g.payees)].sort(),
            currency: g.currency,
            maxPerTransaction: g.max_per_transaction,
            budget: g.budget,
            period: g.period,
            createdAt: now,
            expiresAt,
          };
          // Signing is arithmetic, not an outside call: done before the transaction that stores it.
          const jws = await deps.mandateSigner.sign(mandateClaims(terms));
          const record: MandateRecord = {
            ...terms,
            periodStart: periodStartOf(terms.period, now, deps.settings.dayOffsetMinutes, now),
            spent: 0,
            jws,
            revokedAt: null,
            revokedBy: null,
          };
          await tx(deps.uow, { actor: caller.actor, now, requestId: caller.requestId }, async (r, changes) => {
            const agent = await r.identity.getPrincipal(caller.tenantId, g.agent);
            if (agent === undefined || agent.kind !== 'agent' || agent.actsFor !== caller.userId) {
              throw new UseCaseError('PRINCIPAL_NOT_FOUND', `no agent ${g.agent} acting for ${caller.userId}`, {
                field: 'agent',
              });
            }
            await r.mandates.insert(record);
            changes.audit('mandate', caller.tenantId, record.id, 'mandate.granted', null, {
              user: record.userId,
              agent: record.agentId,
              actions: record.actions,
              payees: record.payees,
              currency: record.currency,
              max_per_transaction: record.maxPerTransaction,
              budget: record.budget,
              period: record.period,
              expires_at: new Date(record.expiresAt).toISOString(),
            });
          });
          return view(record);
        }),

      async list(caller) {
        const rows =
          caller.role === 'agent' && caller.agentId !== undefined
            ? await deps.uow.read.mandates.list(caller.tenantId, 'agent', caller.agentId)
            : await deps.uow.read.mandates.list(caller.tenantId, 'user', caller.userId);
        return rows.filter((m) => visible(caller, m)).map(view);
      },

      async get(caller, id) {
        const m = await deps.uow.read.mandates.get(caller.tenantId, id);
        return m === undefined || !visible(caller, m) ? notFound(id) : ok(view(m));
      },

      revoke: (caller, id) =>
        asResult(async () => {
          const now = deps.clock.now();
          const m = await tx(
            deps.uow,
            { actor: caller.actor, now, requestId: caller.requestId },
            async (r, changes) => {
              const found = await r.mandates.get(caller.tenantId, id);
              if (found === undefined || !visible(caller, found) || !canActOn(caller, found.userId)) {
                throw new UseCaseError('MANDATE_NOT_FOUND', `no mandate ${id}`);
              }
              if (caller.role === 'agent') throw new UseCaseError('FORBIDDEN', 'an agent never revokes a mandate');
              if (await r.mandates.revoke(caller.tenantId, id, caller.actor, now)) {
                changes.audit(
                  'mandate',
                  caller.tenantId,
                  id,
                  'mandate.revoked',
                  { status: 'ACTIVE' },
                  { status: 'REVOKED' },
                );
              }
              return r.mandates.get(caller.tenantId, id);
            },
          );
          if (m === undefined) throw new UseCaseError('MANDATE_NOT_FOUND', `no mandate ${id}`);
          return view(m);
        }),

      jwks: () => ({ keys: [deps.mandateSigner.publicJwk] }),
    },
  };
}
