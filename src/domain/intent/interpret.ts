import { err } from '../result.js';
import type { ActionContext } from './action-spec.js';
import type { ActionCatalog, Resolution } from './catalog.js';
import type { Analysis, Grammar } from './grammar.js';

/** An intent still missing slots, carried by a session to the next turn. */
export interface PendingIntent {
  readonly action: string;
  readonly known: Readonly<Record<string, unknown>>;
}

/** Merge nested option objects too, so "少糖" after "冰拿铁" keeps the ice. */
function merge(
  base: Readonly<Record<string, unknown>>,
  over: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlain(b) && isPlain(v) ? { ...b, ...v } : v;
  }
  return out;
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Turn what the grammar read into a resolution, using the pending intent of the conversation:
 * "点一杯拿铁" (size missing) then "要大杯的" completes the order. Slots given without an action
 * fill the pending one; an action of another kind starts afresh. Nothing here guesses: what is
 * not understood is an INTENT_NOT_UNDERSTOOD error, what is missing is a question.
 */
export function resolveAnalysis(
  catalog: ActionCatalog,
  ctx: ActionContext,
  analysis: Analysis,
  pending?: PendingIntent,
): Resolution {
  if (analysis.error !== undefined) return { kind: 'error', error: analysis.error };
  const language = analysis.chinese ? 'zh' : 'en';
  const slotCount = Object.keys(analysis.slots).length;
  if (analysis.action !== undefined) {
    const base = pending !== undefined && pending.action === analysis.action ? pending.known : {};
    return catalog.resolve(analysis.action, merge(base, analysis.slots), ctx, language);
  }
  if (pending !== undefined && slotCount > 0) {
    const spec = catalog.get(pending.action);
    if (spec !== undefined) {
      const shape = catalog.schemaFor(spec, ctx).shape;
      const relevant = Object.fromEntries(Object.entries(analysis.slots).filter(([k]) => Object.hasOwn(shape, k)));
      if (Object.keys(relevant).length > 0)
        return catalog.resolve(pending.action, merge(pending.known, relevant), ctx, language);
    }
  }
  return {
    kind: 'error',
    error: err(
      'INTENT_NOT_UNDERSTOOD',
      analysis.chinese
        ? '没听懂。可以说：帮我点一杯中杯拿铁、给13800138000充100元话费、付吧、取消订单'
        : 'Sorry, I did not understand. Try: ' +
            "'a grande latte please', 'top up 13800138000 with ¥30', 'pay for it', 'cancel my order'",
    ).error,
  };
}

/** Grammar + catalog in one call: the embedded, deterministic parser. */
export function parseWithGrammar(
  grammar: Grammar,
  catalog: ActionCatalog,
  ctx: ActionContext,
  text: string,
  pending?: PendingIntent,
): Resolution {
  return resolveAnalysis(catalog, ctx, grammar.analyse(text), pending);
}
