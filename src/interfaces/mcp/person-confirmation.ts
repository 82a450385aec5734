import {
  type AgentOutcome,
  type AgentService,
  type Confirmation,
  fromOrderOutcome,
  refused,
} from '../../application/agent/agent-api.js';
import type { ConfirmationsApi } from '../../application/confirmations/confirmations-api.js';
import type { Caller } from '../../application/kernel/caller.js';
import type { OrdersApi } from '../../application/orders/orders-api.js';
import { can } from '../../domain/auth/permissions.js';
import { formatMoney, isCurrency } from '../../domain/money.js';
import type { PersonAnswer } from './tool-result.js';

/** What confirming or declining needs: the same use cases as the HTTP confirmation routes. */
export interface ConfirmServices {
  readonly orders: Pick<OrdersApi, 'confirm' | 'cancel'>;
  readonly confirmations: Pick<ConfirmationsApi, 'confirm' | 'reject'>;
  readonly agent: Pick<AgentService, 'confirm'>;
}

/** The form the client shows the person: one yes/no, with exactly what will be paid. */
export interface PersonQuestion {
  readonly message: string;
  readonly requestedSchema: {
    readonly type: 'object';
    readonly properties: Record<string, { type: 'boolean'; title: string; description: string; default: boolean }>;
    readonly required: string[];
  };
}

/** The client's answer (`elicitation/create`), or why there is none. */
export type PersonReply =
  | { readonly action: 'accept'; readonly content?: Readonly<Record<string, unknown>> }
  | { readonly action: 'decline' | 'cancel' }
  | { readonly action: 'unavailable'; readonly reason: string };

/** What a held action or a waiting order would be confirmed through. */
type Pending =
  | { readonly kind: 'order'; readonly orderId: string; readonly confirm: Confirmation }
  | { readonly kind: 'held'; readonly heldId: string; readonly digest: string; readonly confirm: Confirmation }
  | { readonly kind: 'session'; readonly sessionId: string; readonly digest: string; readonly confirm: Confirmation };

const HELD_PATH = /^\/api\/v1\/confirmations\/([A-Za-z0-9_-]+)$/;
const ORDER_PATH = /^\/api\/v1\/orders\/([A-Za-z0-9_-]+)\/confirm$/;
const SESSION_PATH = /^\/api\/v1\/agent\/sessions\/([A-Za-z0-9_-]+)\/confirm$/;

/** The confirmation an outcome waits for, if it waits for the person. */
export function pendingOf(outcome: AgentOutcome): Pending | undefined {
  const confirm = outcome.kind === 'awaiting_confirmation' || outcome.kind === 'placed' ? outcome.confirm : undefined;
  if (confirm === undefined) return undefined;
  const digest = confirm.body?.digest;
  const held = HELD_PATH.exec(confirm.path)?.[1];
  if (held !== undefined && digest !== undefined) return { kind: 'held', heldId: held, digest, confirm };
  const order = confirm.order_id ?? ORDER_PATH.exec(confirm.path)?.[1];
  if (order !== undefined) return { kind: 'order', orderId: order, confirm };
  const session = SESSION_PATH.exec(confirm.path)?.[1];
  if (session !== undefined && digest !== undefined) return { kind: 'session', sessionId: session, digest, confirm };
  return undefined;
}

/**
 * The person, as their answer in the MCP client makes them the caller for this one confirmation:
 * never the agent's credential (which the use cases refuse), audited as confirmed through the
 * client, e.g. `user:alice via mcp-elicitation (agent:alice-bot)`.
 */
export function personCaller(caller: Caller): Caller {
  if (caller.role === 'agent') {
    return {
      tenantId: caller.tenantId,
      userId: caller.userId,
      actor: `user:${caller.userId} via mcp-elicitation (agent:${caller.agentId ?? 'unknown'})`,
      requestId: caller.requestId,
      role: 'user',
      ...(caller.source === undefined ? {} : { source: caller.source }),
    };
  }
  return { ...caller, actor: `${caller.actor} via mcp-elicitation` };
}

function money(amount: number | undefined, currency: string | undefined): string {
  if (amount === undefined) return 'the amount shown';
  const c = currency ?? 'CNY';
  return isCurrency(c) ? formatMoney({ amount, currency: c }) : `${amount} ${c} minor units`;
}

/** Exactly what will be charged — amount, payee, method — in the words the person sees. */
export function questionFor(p: Pending, requestedBy: string, defaultMethod: string): PersonQuestion {
  const c = p.confirm;
  const payee = c.payee === 'merchant' ? 'merchant (the coffee shop)' : (c.payee ?? 'the payee shown');
  const method = c.payment_method ?? defaultMethod;
  const amount = money(c.amount, c.currency);
  const what = p.kind === 'order' ? `${c.what} (order ${p.orderId})` : c.what;
  return {
    message:
      `Confirm: pay ${amount} to ${payee} by ${method} — ${what}. ` +
      `Asked for by ${requestedBy}. Nothing is charged unless you confirm.`,
    requestedSchema: {
      type: 'object',
      properties: {
        confirm: {
          type: 'boolean',
          title: `Pay ${amount} to ${payee}`,
          description: `${c.action}: ${c.what}; method ${method}`,
          default: false,
        },
      },
      required: ['confirm'],
    },
  };
}

/** How the person confirms without the client: their own credential, never the agent's. */
export function howToConfirm(p: Pending): string {
  const body = p.confirm.body === undefined ? '' : ` with body ${JSON.stringify(p.confirm.body)}`;
  return (
    `The person confirms it with their own credential: in the console, or POST ${p.confirm.path}${body}. ` +
    `An agent's key cannot confirm; do not retry the call to get around it.`
  );
}

/**
 * Ask the person (when configured and the client can), and confirm or decline on their answer
 * through the same use cases as `POST /api/v1/confirmations/:id` and `POST /api/v1/orders/:id/confirm`.
 * Anything but an explicit answer leaves the action pending, and says how the person confirms.
 */
export async function askThePerson(
  s: ConfirmServices,
  caller: Caller,
  outcome: AgentOutcome,
  opts: {
    readonly enabled: boolean;
    readonly method: string;
    readonly ask: ((q: PersonQuestion) => Promise<PersonReply>) | undefined;
  },
): Promise<{ readonly outcome: AgentOutcome; readonly person?: PersonAnswer }> {
  const p = pendingOf(outcome);
  if (p === undefined) return { outcome };
  const pending = (reason: string): { outcome: AgentOutcome; person: PersonAnswer } => ({
    outcome,
    person: { via: 'pending', reason, how_to_confirm: howToConfirm(p) },
  });
  if (!opts.enabled)
    return pending('the policy wants the person to confirm in the console (mcp.confirm_via_elicitation is off)');
  if (opts.ask === undefined) return pending('this MCP client cannot ask the person (no elicitation capability)');
  const person = personCaller(caller);
  if (!can(person.role, 'holds.confirm')) return pending(`a ${person.role} cannot confirm`);
  const reply = await opts.ask(questionFor(p, caller.actor, opts.method));
  if (reply.action === 'unavailable') return pending(reply.reason);
  if (reply.action === 'cancel') return pending('the person dismissed the question without answering');
  const yes = reply.action === 'accept' && reply.content?.confirm === true;
  return yes ? accept(s, person, p) : decline(s, person, p, outcome);
}

async function accept(
  s: ConfirmServices,
  person: Caller,
  p: Pending,
): Promise<{ outcome: AgentOutcome; person: PersonAnswer }> {
  const answered: PersonAnswer = { via: 'mcp-elicitation', answer: 'accepted' };
  switch (p.kind) {
    case 'order':
      return { outcome: fromOrderOutcome(await s.orders.confirm(person, p.orderId)), person: answered };
    case 'held': {
      const r = await s.confirmations.confirm(person, p.heldId, p.digest);
      if (!r.ok) return { outcome: refused(r.error), person: answered };
      return {
        outcome: { kind: 'done', action: r.value.held.action, result: { held: r.value.held, ...r.value.result } },
        person: answered,
      };
    }
    case 'session': {
      const r = await s.agent.confirm(person, p.sessionId, p.digest);
      return { outcome: r.ok ? r.value.outcome : refused(r.error), person: answered };
    }
    default: {
      const never: never = p;
      throw new Error(`unknown pending ${JSON.stringify(never)}`);
    }
  }
}

async function decline(
  s: ConfirmServices,
  person: Caller,
  p: Pending,
  outcome: AgentOutcome,
): Promise<{ outcome: AgentOutcome; person: PersonAnswer }> {
  const answered: PersonAnswer = { via: 'mcp-elicitation', answer: 'declined' };
  switch (p.kind) {
    case 'order': {
      const r = await s.orders.cancel(person, p.orderId, 'declined by the person in the MCP client');
      return { outcome: r.ok ? { kind: 'cancelled', order: r.value } : refused(r.error), person: answered };
    }
    case 'held': {
      const r = await s.confirmations.reject(person, p.heldId, p.digest);
      return {
        outcome: r.ok ? { kind: 'done', action: r.value.action, result: { held: r.value } } : refused(r.error),
        person: answered,
      };
    }
    case 'session':
      // Nothing was reserved for a session's held action: it simply lapses unconfirmed.
      return { outcome, person: answered };
    default: {
      const never: never = p;
      throw new Error(`unknown pending ${JSON.stringify(never)}`);
    }
  }
}
