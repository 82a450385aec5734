import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { AgentOutcome } from '../../application/agent/agent-api.js';
import type { BatchApi } from '../../application/batch/batch-api.js';
import type { Caller } from '../../application/kernel/caller.js';
import type { RechargeApi } from '../../application/recharge/recharge-api.js';

const POLL_MS = 250;

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** One look at work being followed: where the outcome stands, what to tell the client, whether it ended. */
interface Look {
  readonly outcome: AgentOutcome;
  readonly note?: { readonly progress: number; readonly total?: number; readonly message: string };
  readonly ended: boolean;
}

/**
 * Work the engine is still carrying out when the tool would answer — a recharge, a batch: when the
 * client asked for progress (a `progressToken`), follow it — a progress notification each time it
 * moves — until it ends or `followMs` passes, and answer with where it stands then. Without a token
 * the tool answers at once (the work goes on; querying it later tells how it ended).
 */
export async function followWork(
  s: { readonly recharge: Pick<RechargeApi, 'outcomeOf'>; readonly batch: Pick<BatchApi, 'get'> },
  caller: Caller,
  outcome: AgentOutcome,
  extra: Extra,
  followMs: number,
): Promise<AgentOutcome> {
  const token = extra._meta?.progressToken;
  if (token === undefined || followMs <= 0 || outcome.kind !== 'done') return outcome;
  const look = rechargeLook(s.recharge, caller, outcome) ?? batchLook(s.batch, caller, outcome);
  if (look === undefined) return outcome;
  const deadline = Date.now() + followMs;
  let latest: AgentOutcome = outcome;
  while (!extra.signal.aborted) {
    const seen = await look();
    if (seen === undefined) return latest;
    latest = seen.outcome;
    if (seen.note !== undefined)
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, ...seen.note },
      });
    if (seen.ended || Date.now() + POLL_MS > deadline) return latest;
    await sleep(POLL_MS, undefined, { signal: extra.signal }).catch(() => undefined);
  }
  return latest;
}

/** A recharge not yet final: one notification per look, with its status. */
function rechargeLook(
  recharge: Pick<RechargeApi, 'outcomeOf'>,
  caller: Caller,
  outcome: AgentOutcome & { kind: 'done' },
): (() => Promise<Look | undefined>) | undefined {
  const result = outcome.result as { recharge?: { id?: unknown; status?: unknown } } | null;
  const id = result?.recharge?.id;
  if (typeof id !== 'string' || result?.recharge?.status === 'SUCCEEDED' || result?.recharge?.status === 'FAILED')
    return undefined;
  let step = 0;
  let latest: AgentOutcome = outcome;
  return async () => {
    const r = await recharge.outcomeOf(caller, id);
    if (!r.ok) return undefined;
    step++;
    const o = r.value;
    const status = o.kind === 'held' ? o.held.status : o.recharge.status;
    if (o.kind !== 'held')
      latest = { kind: 'done', action: outcome.action, result: { ...result, recharge: o.recharge } };
    return {
      outcome: latest,
      note: { progress: step, message: `recharge ${id}: ${status}` },
      ended: o.kind !== 'in_progress',
    };
  };
}

/** A batch not yet done: a notification each time more rows have their answer (progress only grows). */
function batchLook(
  batch: Pick<BatchApi, 'get'>,
  caller: Caller,
  outcome: AgentOutcome & { kind: 'done' },
): (() => Promise<Look | undefined>) | undefined {
  const result = outcome.result as { batch?: { id?: unknown; done?: unknown } } | null;
  const id = result?.batch?.id;
  if (typeof id !== 'string' || result?.batch?.done === true) return undefined;
  let last = -1;
  return async () => {
    const r = await batch.get(caller, id);
    if (!r.ok) return undefined;
    const b = r.value;
    const answered = b.finished + b.rejected_count;
    const moved = answered > last;
    last = Math.max(last, answered);
    const message =
      `batch ${id}: ${b.status}, ${b.succeeded} succeeded, ${b.failed} failed, ` +
      `${b.rejected_count} rejected of ${b.rows}`;
    return {
      outcome: { kind: 'done', action: outcome.action, result: { ...result, batch: b } },
      ...(moved ? { note: { progress: answered, total: b.rows, message } } : {}),
      ended: b.done,
    };
  };
}
