import type { z } from 'zod';
import type { ActionContext, ActionSpec } from '../../domain/intent/action-spec.js';
import { ActionCatalog } from '../../domain/intent/catalog.js';
import type { AgentOutcome } from './agent-outcome.js';
import type { Caller } from '../kernel/caller.js';
import type { IdempotencyRef } from '../kernel/idempotency.js';

/** What a handler gets besides the validated parameters. */
export interface HandlerContext {
  readonly caller: Caller;
  /** The conversation's last order ("last" already resolved by the caller when it is an order reference). */
  readonly lastOrderId: string | null;
  /**
   * The transport's idempotency claim for this request (an Idempotency-Key, an MCP tool call): a
   * handler that creates something records it there, so a retry after a crash finds it.
   */
  readonly idem?: IdempotencyRef;
  /** Set when an earlier attempt of this very request created this resource and died: report it, run nothing. */
  readonly recoveryPoint?: string | null;
}

/** Runs a validated intent. Expected refusals are outcomes (`kind: 'refused'`), never exceptions. */
export type ActionHandler = (params: Readonly<Record<string, unknown>>, ctx: HandlerContext) => Promise<AgentOutcome>;

/** A user's action: like a built-in spec, but the schema may be a plain zod object, and it brings its handler. */
export type ActionRegistration = Omit<ActionSpec, 'schema'> & {
  readonly schema: z.ZodObject | ((ctx: ActionContext) => z.ZodObject);
  readonly handler?: ActionHandler;
};

/**
 * The open action registry: the built-ins plus whatever users register, each with a
 * schema, a risk level and (when something can run it) a handler. The grammar, the LLM tool
 * list, the HTTP API and the CLI all read it. An action without a handler is known (it parses)
 * but refused with ACTION_UNAVAILABLE when asked to run.
 */
export class ActionRegistry {
  readonly catalog = new ActionCatalog();
  private readonly handlers = new Map<string, ActionHandler>();
  private readonly custom = new Set<string>();
  /** Bumped on every change, so caches built from the registry (the grammar) know to rebuild. */
  version = 0;

  /** Add a new action (name must be new). */
  register(reg: ActionRegistration): this {
    const { handler, schema, ...rest } = reg;
    const spec: ActionSpec = { ...rest, schema: typeof schema === 'function' ? schema : () => schema };
    this.catalog.add(spec);
    this.custom.add(spec.name);
    if (handler !== undefined) this.handlers.set(spec.name, handler);
    this.version++;
    return this;
  }

  /** Attach (or replace) the handler of an existing action, built-in or registered. */
  handle(name: string, handler: ActionHandler): this {
    if (this.catalog.get(name) === undefined) throw new Error(`no action "${name}" to handle`);
    this.handlers.set(name, handler);
    this.version++;
    return this;
  }

  handlerFor(name: string): ActionHandler | undefined {
    return this.handlers.get(name);
  }

  /** Whether the action was registered by a user (its risk level then decides about confirmation). */
  isCustom(name: string): boolean {
    return this.custom.has(name);
  }

  /** Actions a user added, for the grammar's keyword rules. */
  customSpecs(): ActionSpec[] {
    return this.catalog.list().filter((s) => this.custom.has(s.name));
  }
}
