import type { z } from 'zod';
import { err, ok, type DomainError, type Result } from '../result.js';
import type { ActionContext, ActionSpec, Intent, RawParams } from './action-spec.js';
import { BUILTIN_ACTIONS } from './builtin-actions.js';
import { visibleText } from './text.js';

/** A missing required slot: the caller asks this question instead of guessing. */
export interface Clarification {
  readonly action: string;
  readonly missing: readonly string[];
  readonly question: string;
  /** What is known so far (normalised), kept by the session for the next turn. */
  readonly known: Readonly<Record<string, unknown>>;
}

/** What validating a candidate intent gives: an executable intent, a question, or an error. */
export type Resolution =
  | { readonly kind: 'intent'; readonly intent: Intent }
  | { readonly kind: 'clarify'; readonly clarify: Clarification }
  | { readonly kind: 'error'; readonly error: DomainError };

const NAME_RE = /^[a-z][a-z0-9_]{1,63}$/;

/**
 * The open set of actions. The seven built-ins are always there; users add their own with a
 * schema and a risk level. The grammar, the LLM tool list, the API and the CLI all read it, and
 * every candidate intent is validated here by the same `resolve`.
 */
export class ActionCatalog {
  private readonly specs = new Map<string, ActionSpec>();
  /** zod compiles each object schema on first use: build one per action and menu, then reuse it. */
  private readonly schemas = new WeakMap<object, Map<string, z.ZodObject>>();

  constructor(extra: readonly ActionSpec[] = []) {
    for (const s of [...BUILTIN_ACTIONS, ...extra]) this.add(s);
  }

  /** Register an action; names are snake_case and unique. */
  add(spec: ActionSpec): void {
    if (!NAME_RE.test(spec.name)) throw new Error(`action name "${spec.name}" must be snake_case`);
    if (this.specs.has(spec.name)) throw new Error(`action "${spec.name}" is already registered`);
    this.specs.set(spec.name, spec);
  }

  get(name: string): ActionSpec | undefined {
    return this.specs.get(name);
  }

  /** The action's schema for this context (cached per menu). */
  schemaFor(spec: ActionSpec, ctx: ActionContext): z.ZodObject {
    let byName = this.schemas.get(ctx.menu);
    if (byName === undefined) {
      byName = new Map();
      this.schemas.set(ctx.menu, byName);
    }
    let schema = byName.get(spec.name);
    if (schema === undefined) {
      schema = spec.schema(ctx);
      byName.set(spec.name, schema);
    }
    return schema;
  }

  list(): ActionSpec[] {
    return [...this.specs.values()];
  }

  /**
   * Validate a candidate: normalise loose values, ask for missing required slots, then check
   * the strict schema (unknown fields, wrong types) and fill defaults.
   */
  resolve(action: unknown, raw: unknown, ctx: ActionContext, language: 'zh' | 'en' = 'zh'): Resolution {
    const spec = typeof action === 'string' ? this.specs.get(action) : undefined;
    if (spec === undefined) {
      return error('UNKNOWN_ACTION', `"${String(action).slice(0, 64)}" is not an action`, {
        allowed: [...this.specs.keys()],
      });
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return error('VALIDATION_FAILED', 'parameters must be a JSON object', { action: spec.name });
    }
    // Before any normaliser sees them: a field named `__proto__`, `constructor` or `toString` is
    // just another unknown field, and a value with a bidi or control character is not what was shown.
    const schema = this.schemaFor(spec, ctx);
    const strange = Object.keys(raw).filter((k) => !Object.hasOwn(schema.shape, k));
    if (strange.length > 0) return unknownFields(spec.name, strange);
    const unsafe = unsafeString(raw);
    if (unsafe !== undefined) return { kind: 'error', error: unsafe };
    const normalised: Result<Record<string, unknown>> =
      spec.normalise === undefined ? ok({ ...(raw as RawParams) }) : spec.normalise(raw as RawParams, ctx);
    if (!normalised.ok) return { kind: 'error', error: normalised.error };
    const params = spec.complete === undefined ? normalised.value : spec.complete(normalised.value, ctx);
    const unknown = Object.keys(params).filter((k) => !Object.hasOwn(schema.shape, k));
    if (unknown.length > 0) return unknownFields(spec.name, unknown);
    const missing = Object.keys(spec.questions ?? {}).filter((k) => params[k] === undefined);
    const questions = spec.questions ?? {};
    const first = missing[0];
    if (first !== undefined) {
      const q = questions[first];
      return {
        kind: 'clarify',
        clarify: { action: spec.name, missing, question: q === undefined ? first : q[language], known: params },
      };
    }
    const parsed = schema.safeParse(params);
    if (!parsed.success) return { kind: 'error', error: describe(spec.name, parsed.error) };
    return { kind: 'intent', intent: { action: spec.name, params: parsed.data } };
  }
}

function unknownFields(action: string, fields: readonly string[]): Resolution {
  return error('VALIDATION_FAILED', `unknown field(s) for ${action}: ${fields.join(', ')}`, { action, fields });
}

/** Parameters nest two levels (options); anything far deeper is refused before it is walked. */
const MAX_PARAM_DEPTH = 8;

/** The first string (at any depth) holding a control, bidi or format character, as an error. */
function unsafeString(value: unknown, path = '', depth = 0): DomainError | undefined {
  if (depth > MAX_PARAM_DEPTH)
    return err('VALIDATION_FAILED', `parameters nest at most ${MAX_PARAM_DEPTH} levels`, { field: path }).error;
  if (typeof value === 'string') {
    const bad = visibleText(value);
    return bad.ok ? undefined : { ...bad.error, details: { ...bad.error.details, field: path || '(params)' } };
  }
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const found = unsafeString(v, path === '' ? k : `${path}.${k}`, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function error(code: DomainError['code'], message: string, details: Record<string, unknown>): Resolution {
  const e = err(code, message, details);
  return { kind: 'error', error: e.error };
}

function describe(action: string, e: z.ZodError): DomainError {
  const issues = e.issues.map((i) => ({ field: i.path.map(String).join('.') || '(params)', message: i.message }));
  const first = issues[0];
  return {
    code: 'VALIDATION_FAILED',
    message: first === undefined ? `invalid parameters for ${action}` : `${action}.${first.field}: ${first.message}`,
    details: { action, issues },
  };
}
