import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { AgentOutcome } from '../../application/agent/agent-api.js';
import type { Caller } from '../../application/kernel/caller.js';
import type { RechargeApi } from '../../application/recharge/recharge-api.js';

const POLL_MS = 250;

/**
 * A recharge the engine is still carrying out when the tool would answer: when the client asked
 * for progress (a `progressToken`), follow it — a progress notification per state seen — until it
 * ends or `followMs` passes, and answer with where it stands then. Without a token the tool answers
 * at once (the recharge goes on; `query`-ing it later tells how it ended).
 */
export async function followRecharge(
  recharge: Pick<RechargeApi, 'outcomeOf'>,
  caller: Caller,
  outcome: AgentOutcome,
  extra: RequestHandlerExtra<ServerRequest, ServerNotification>,
  followMs: number,
): Promise<AgentOutcome> {
  const token = extra._meta?.progressToken;
  if (token === undefined || followMs <= 0 || outcome.kind !== 'done') return outcome;
  const result = outcome.result as { recharge?: { id?: unknown; status?: unknown } } | null;
  const id = result?.recharge?.id;
  if (typeof id !== 'string' || result?.recharge?.status === 'SUCCEEDED' || result?.recharge?.status === 'FAILED')
    return outcome;
  const deadline = Date.now() + followMs;
  let step = 0;
  let latest = outcome;
  while (!extra.signal.aborted) {
    const r = await recharge.outcomeOf(caller, id);
    if (!r.ok) return latest;
    step++;
    const o = r.value;
    const status = o.kind === 'held' ? o.held.status : o.recharge.status;
    await extra.sendNotification({
      method: 'notifications/progress',
      params: { progressToken: token, progress: step, message: `recharge ${id}: ${status}` },
    });
    if (o.kind !== 'held')
      latest = { kind: 'done', action: outcome.action, result: { ...result, recharge: o.recharge } };
    if (o.kind !== 'in_progress' || Date.now() + POLL_MS > deadline) return latest;
    await sleep(POLL_MS, undefined, { signal: extra.signal }).catch(() => undefined);
  }
  return latest;
}
