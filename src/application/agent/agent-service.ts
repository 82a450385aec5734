import type { Intent } from '../../domain/intent/action-spec.js';
import type { Policy } from '../../domain/policy.js';
import { digestOf } from '../kernel/holds.js';
import { err, type Result } from '../../domain/result.js';
import type { AgentSessionRecord } from '../../ports/agent-sessions.js';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/id-generator.js';
import type { UnitOfWork } from '../../ports/repositories.js';
import type { ActionRegistry } from './action-registry.js';
import { type AgentOutcome, orderOf } from './agent-outcome.js';
import type { Caller } from '../kernel/caller.js';
import type { ChangeMeta } from '../kernel/change-set.js';
import type { IdempotencyRef } from '../kernel/idempotency.js';
import { tx } from '../kernel/tx.js';
import type { Interpretation, Interpreter } from './interpret-text.js';
import { refused } from './order-action-handlers.js';

export interface AgentServiceOptions {
  readonly registry: ActionRegistry;
  readonly interpreter: Interpreter;
  readonly uow: UnitOfWork;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly policy: () => Policy;
  /** context_retention: whether conversations are kept, and for how long after the last turn. */
  readonly retention: { readonly enabled: boolean; readonly ttlMs: number };
}

export interface AgentReply {
  readonly session_id: string;
  readonly intent: Intent | null;
  /** Who read the words; "confirmation" when this answers the person's explicit confirm. */
  readonly source: 'grammar' | 'llm' | 'confirmation';
  readonly outcome: AgentOutcome;
  /** True when the given session had expired and this message started it over. */
  readonly session_restarted: boolean;
}

const SESSION_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_TURNS = 12;

/**
 * One message to the agent: words → intent (grammar, or a model in the configured modes) →
 * the engine. The session, kept in the database, carries a half-finished intent to the next
 * message and remembers the last order for "last" / "刚才那单". The policy is the engine's:
 * the text is only ever parsed, never obeyed.
 */
export class AgentService {
  constructor(private readonly o: AgentServiceOptions) {}

  /** The registered actions as clients see them: name, description, risk, JSON Schema, whether anything runs it. */
  actions(): Array<{
    name: string;
    description: string;
    risk: string;
    available: boolean;
    parameters: Readonly<Record<string, unknown>>;
  }> {
    return this.o.interpreter.tools().map((t) => ({
      name: t.name,
      description: t.description,
      risk: this.o.registry.catalog.get(t.name)?.risk ?? 'high',
      available: this.o.registry.handlerFor(t.name) !== undefined,
      parameters: t.parameters,
    }));
  }

  /** Parse only: no session, nothing runs. */
  parse(text: string): Promise<Interpretation> {
    return this.o.interpreter.interpret(text);
  }

  async message(
    caller: Caller,
    input: {
      readonly sessionId?: string;
      readonly text: string;
      /** The transport's idempotency claim for this message, handed to the action it runs. */
      readonly idem?: { readonly ref: IdempotencyRef; readonly recoveryPoint: string | null };
    },
  ): Promise<Result<AgentReply>> {
    if (input.sessionId !== undefined && !SESSION_ID_RE.test(input.sessionId)) {
      return err('VALIDATION_FAILED', 'session_id is 1–64 letters, digits, _ or -', { field: 'session_id' });
    }
    const now = this.o.clock.now();
    const { session, restarted } = await this.openSession(caller, input.sessionId, now);
    const keep = this.o.retention.enabled;
    const parsed = await this.o.interpreter.interpret(
      input.text,
      keep ? (session.pending ?? undefined) : undefined,
      keep ? session.turns : [],
    );

    let outcome: AgentOutcome;
    let intent: Intent | null = null;
    let pending = session.pending;
    let awaiting = session.awaiting;
    switch (parsed.kind) {
      case 'intent': {
        intent = parsed.intent;
        pending = null;
        const r = await this.execute(caller, parsed.intent, session, input.idem);
        outcome = r.outcome;
        awaiting = r.awaiting ?? null;
        break;
      }
      case 'clarify': {
        const c = parsed.clarify;
        pending = { action: c.action, known: c.known };
        outcome = { kind: 'clarification', action: c.action, missing: c.missing, question: c.question };
        break;
      }
      case 'error':
        outcome = refused(parsed.error);
        break;
      default: {
        const never: never = parsed;
        throw new Error(`unknown interpretation ${JSON.stringify(never)}`);
      }
    }
    const order = orderOf(outcome);
    const next: AgentSessionRecord = {
      ...session,
      pending: keep ? pending : null,
      awaiting: keep ? awaiting : null,
      lastOrderId: keep ? (order?.id ?? session.lastOrderId) : null,
      turns: keep
        ? [...session.turns, { text: input.text.slice(0, 500), result: summary(parsed) }].slice(-MAX_TURNS)
        : [],
      updatedAt: now,
      expiresAt: now + this.o.retention.ttlMs,
    };
    if (keep) await tx(this.o.uow, this.meta(caller, now), (r) => r.sessions.save(next));
    return {
      ok: true,
      value: { session_id: session.id, intent, source: parsed.source, outcome, session_restarted: restarted },
    };
  }

  /**
   * The person confirms what a registered action's risk held back. This is an explicit call
   * of its own (the HTTP endpoint or the CLI prompt), never something a message's text can do.
   */
  async confirm(caller: Caller, sessionId: string, digest?: unknown): Promise<Result<AgentReply>> {
    const now = this.o.clock.now();
    const s = SESSION_ID_RE.test(sessionId)
      ? await this.o.uow.read.sessions.get(caller.tenantId, sessionId)
      : undefined;
    if (s === undefined || s.userId !== caller.userId || s.expiresAt <= now || s.awaiting === null) {
      return err('CONFIRMATION_NOT_FOUND', 'nothing in this session waits for confirmation (or the session expired)');
    }
    if (caller.role === 'agent') return err('FORBIDDEN', 'an agent never confirms what the policy held for the person');
    // The "yes" was for what the person was shown: anything else waiting now is not confirmed by it.
    if (digest !== awaitingDigest({ action: s.awaiting.action, params: s.awaiting.params })) {
      return err('CONFIRMATION_MISMATCH', 'the confirmation does not name what is waiting (its digest): ask again', {
        waiting: describeForConfirmation({ action: s.awaiting.action, params: s.awaiting.params }),
      });
    }
    // Claim the confirmation first (compare and set on the session), then act: of any number of
    // concurrent confirms — double clicks, retries, several instances — exactly one takes it and
    // runs the action; the others find nothing waiting.
    const taken = { ...s, awaiting: null, updatedAt: now, expiresAt: now + this.o.retention.ttlMs };
    if (!(await tx(this.o.uow, this.meta(caller, now), (r) => r.sessions.replace(s, taken)))) {
      return err('CONFIRMATION_NOT_FOUND', 'this confirmation was already taken (confirmed once already)');
    }
    const intent: Intent = { action: s.awaiting.action, params: s.awaiting.params };
    const handler = this.o.registry.handlerFor(intent.action);
    const outcome =
      handler === undefined
        ? unavailable(intent.action)
        : await handler(intent.params, { caller, lastOrderId: s.lastOrderId });
    const order = orderOf(outcome);
    if (order !== undefined && order.id !== s.lastOrderId) {
      // Remembered for "that order" unless the conversation moved on meanwhile.
      await tx(this.o.uow, this.meta(caller, now), (r) =>
        r.sessions.replace(taken, { ...taken, lastOrderId: order.id }),
      );
    }
    return { ok: true, value: { session_id: s.id, intent, source: 'confirmation', outcome, session_restarted: false } };
  }

  private meta(caller: Caller, now: number): ChangeMeta {
    return { actor: caller.actor, now, requestId: caller.requestId };
  }

  private async execute(
    caller: Caller,
    intent: Intent,
    session: AgentSessionRecord,
    idem?: { readonly ref: IdempotencyRef; readonly recoveryPoint: string | null },
  ): Promise<{ outcome: AgentOutcome; awaiting?: AgentSessionRecord['awaiting'] }> {
    const handler = this.o.registry.handlerFor(intent.action);
    if (handler === undefined) return { outcome: unavailable(intent.action) };
    const spec = this.o.registry.catalog.get(intent.action);
    // A user's own action has no engine rule of its own: its risk level and trusted_actions
    // decide, so a model's words alone never run it. (The engine's money actions — orders,
    // recharges, top-ups, refunds — are held by their own capabilities under the one policy.)
    if (
      spec !== undefined &&
      this.o.registry.isCustom(intent.action) &&
      spec.risk !== 'low' &&
      !this.o.policy().trusted_actions.includes(intent.action)
    ) {
      return {
        outcome: {
          kind: 'awaiting_confirmation',
          confirm: {
            action: intent.action,
            what: describeForConfirmation(intent),
            method: 'POST',
            path: `/api/v1/agent/sessions/${session.id}/confirm`,
            body: { digest: awaitingDigest(intent) },
          },
        },
        awaiting: { action: intent.action, params: intent.params },
      };
    }
    return {
      outcome: await handler(intent.params, {
        caller,
        lastOrderId: session.lastOrderId,
        ...(idem === undefined ? {} : { idem: idem.ref, recoveryPoint: idem.recoveryPoint }),
      }),
    };
  }

  private async openSession(
    caller: Caller,
    id: string | undefined,
    now: number,
  ): Promise<{ session: AgentSessionRecord; restarted: boolean }> {
    const fresh = (sid: string): AgentSessionRecord => ({
      id: sid,
      tenantId: caller.tenantId,
      userId: caller.userId,
      pending: null,
      awaiting: null,
      lastOrderId: null,
      turns: [],
      createdAt: now,
      updatedAt: now,
      expiresAt: now + this.o.retention.ttlMs,
    });
    if (id === undefined || !this.o.retention.enabled)
      return { session: fresh(id ?? this.o.ids.next('ses')), restarted: false };
    const found = await this.o.uow.read.sessions.get(caller.tenantId, id);
    // An id this person has no conversation under — none at all, or another person's, which is
    // never continued — starts a new one under a new id. Both get the same answer, so the reply
    // says nothing about whether someone else's session has that id.
    if (found === undefined || found.userId !== caller.userId) {
      return { session: fresh(this.o.ids.next('ses')), restarted: false };
    }
    if (found.expiresAt <= now) return { session: { ...fresh(id), createdAt: found.createdAt }, restarted: true };
    return { session: found, restarted: false };
  }
}

/** What the person is asked to confirm, in words: the action and every parameter that will run. */
function describeForConfirmation(intent: Intent): string {
  return `${intent.action} ${JSON.stringify(intent.params)}`;
}

/** The digest a session's confirmation names: exactly the action and parameters shown. */
function awaitingDigest(intent: Intent): string {
  return digestOf(intent.action, intent.params, {
    what: describeForConfirmation(intent),
    amount: typeof intent.params.amount === 'number' ? intent.params.amount : 0,
    currency: typeof intent.params.currency === 'string' ? intent.params.currency : 'CNY',
    payee: '',
    method: '',
  });
}

function unavailable(action: string): AgentOutcome {
  return {
    kind: 'refused',
    code: 'ACTION_UNAVAILABLE',
    reason: `"${action}" is understood but nothing in this deployment can carry it out yet`,
    details: { action },
  };
}

function summary(i: Interpretation): string {
  switch (i.kind) {
    case 'intent':
      return i.intent.action;
    case 'clarify':
      return `clarify:${i.clarify.action}`;
    case 'error':
      return i.error.code;
    default: {
      const never: never = i;
      throw new Error(`unknown interpretation ${JSON.stringify(never)}`);
    }
  }
}
