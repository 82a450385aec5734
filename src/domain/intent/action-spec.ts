import type { z } from 'zod';
import type { Permission } from '../auth/permissions.js';
import type { Menu } from '../menu.js';
import type { Result } from '../result.js';

/** How much harm an action can do; the engine's policy uses it for actions it has no rule for. */
export const RISK_LEVELS = ['low', 'medium', 'high'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

/** What schemas and normalisers may look at: the configuration they validate against. */
export interface ActionContext {
  readonly menu: Menu;
}

/** A question asked back when a required slot is missing, in both languages. */
export interface SlotQuestion {
  readonly zh: string;
  readonly en: string;
}

/**
 * What running an action does, for clients that show or gate tool calls (MCP tool annotations).
 * Unset fields take MCP's cautious defaults: may change things, may destroy, not idempotent,
 * reaches the outside world.
 */
export interface ActionHints {
  /** Only reads: nothing changes, nothing is paid. */
  readonly readOnly?: boolean;
  /** May undo or end something (a cancel, a refund). */
  readonly destructive?: boolean;
  /** Calling it again with the same arguments changes nothing more. */
  readonly idempotent?: boolean;
  /** Reaches payment gateways, carriers or merchants outside this service. */
  readonly openWorld?: boolean;
}

/** A plain object of loose values, as a grammar or a model produced them. */
export type RawParams = Readonly<Record<string, unknown>>;

/**
 * Words that select a user-registered action in the grammar. The grammar finds the slots it
 * knows (amount, phone, order id) and `extract` may add more; the schema validates all of it.
 */
export interface ActionGrammar {
  /** Lower-case phrases (Chinese or English) that name the action. */
  readonly keywords: readonly string[];
  /** Extra slots from the normalised text. Pure. */
  readonly extract?: (text: string) => RawParams;
}

/**
 * One action of the open registry: its name, what it is for (shown to models), its risk, the
 * zod schema of its normalised parameters, and the slots that trigger a clarification when
 * missing. Every intent — from the grammar, from a model, from an API body — goes through
 * `normalise` then `schema`, so all of them are held to exactly the same rules.
 */
export interface ActionSpec {
  readonly name: string;
  readonly description: string;
  readonly risk: RiskLevel;
  /** The normalised parameters (strict: an unknown field is an error). Defaults fill missing optional fields. */
  readonly schema: (ctx: ActionContext) => z.ZodObject;
  /** Turn loose values ("100元", "138 0013 8000", "grande") into canonical ones, or say why not. */
  readonly normalise?: (raw: RawParams, ctx: ActionContext) => Result<Record<string, unknown>>;
  /** Required slots and the question to ask when each is missing. */
  readonly questions?: Readonly<Record<string, SlotQuestion>>;
  /** Fill slots that have a single sensible value given the others (e.g. the only size a drink comes in). */
  readonly complete?: (params: Record<string, unknown>, ctx: ActionContext) => Record<string, unknown>;
  /** For user-registered actions: words the grammar recognises. Built-ins have their own rules. */
  readonly grammar?: ActionGrammar;
  /**
   * What the caller's role must allow to run it outside a conversation (an MCP tool), as the
   * matching HTTP route demands; `agent.message` when unset (a user's own action).
   */
  readonly permission?: Permission;
  readonly hints?: ActionHints;
}

/** An intent that passed validation: every field normalised, every default filled in. */
export interface Intent {
  readonly action: string;
  readonly params: Readonly<Record<string, unknown>>;
}
