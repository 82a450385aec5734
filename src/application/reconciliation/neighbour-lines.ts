import { keyOf, type NeighbourLine } from '../../domain/statements/reconcile.js';
import type { StatementFile } from '../../domain/statements/statement-line.js';
import type { StatementSources } from './statement-sources.js';

const DAY_MS = 86_400_000;

/** How a source's statement of a day is fetched, when the source gives one. */
export function fetcherOf(
  sources: StatementSources,
  name: string,
): ((date: string) => Promise<StatementFile>) | undefined {
  const g = sources.gateways.get(name);
  if (g !== undefined) return g.statement?.bind(g);
  const c = sources.recharge?.channels.get(name);
  return c?.statement?.bind(c);
}

/** `YYYY-MM-DD` moved by `days` (calendar arithmetic, no time zone involved). */
export function shiftDate(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The ±1-day cut-off window (日切): the lines of `wanted` keys on the statements of the day before
 * and the day after `date`, fetched from the source the way the day's own is. The day after is
 * asked for only once it has begun (`nextDayBegun`). A neighbour's statement that cannot be had
 * (not ready yet, the source gives none, the channel is down) contributes nothing: an item found
 * on neither stays missing and is rechecked at T+2, when the day after's statement is out.
 */
export async function neighbourLines(
  sources: StatementSources,
  source: string,
  date: string,
  nextDayBegun: boolean,
  wanted: ReadonlySet<string>,
  onUnavailable: (date: string, error: unknown) => void,
): Promise<Map<string, NeighbourLine>> {
  const found = new Map<string, NeighbourLine>();
  const fetch = fetcherOf(sources, source);
  if (wanted.size === 0 || fetch === undefined) return found;
  const dates = [shiftDate(date, -1), ...(nextDayBegun ? [shiftDate(date, 1)] : [])];
  for (const d of dates) {
    try {
      for await (const line of sources.readStatement(await fetch(d))) {
        const key = keyOf(line);
        if (wanted.has(key) && !found.has(key)) found.set(key, { date: d, line });
      }
    } catch (e) {
      onUnavailable(d, e);
    }
  }
  return found;
}
