import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { AgentOutcome } from '../../application/agent/agent-api.js';
import { confirmationOf } from '../../application/agent/agent-outcome.js';
import type { BatchApi, BatchLine } from '../../application/batch/batch-api.js';
import type { Caller } from '../../application/kernel/caller.js';
import type { IdempotencyRef } from '../../application/kernel/idempotency.js';

/** Many phone top-ups in one call: the batch capability of `POST /api/v1/recharges/batch`. */
export const BATCH_TOOL = 'recharge_batch';
/** Rows one call may carry (a larger batch goes as a file to `POST /api/v1/recharges/batch`). */
export const BATCH_TOOL_MAX_ROWS = 1000;

export const batchArgsSchema = z
  .object({
    rows: z
      .array(
        z
          .object({
            phone: z.string().min(1).max(32).describe('mainland mobile number, e.g. 13800138000'),
            amount: z.number().int().positive().describe('face value in integer fen (100元 = 10000)'),
          })
          .strict(),
      )
      .min(1, 'rows is empty')
      .max(BATCH_TOOL_MAX_ROWS, `at most ${BATCH_TOOL_MAX_ROWS} rows per call`),
  })
  .strict();

export const batchTool = (moneyNote: string): Tool => ({
  name: BATCH_TOOL,
  description:
    `Top up many phones at once: rows of {phone, amount} (at most ${BATCH_TOOL_MAX_ROWS}), paid from the ` +
    'person’s wallet. Each row is checked as a single recharge is; bad rows are reported with their row ' +
    'number and the others go ahead. The whole batch may be held for the person, showing count and total.' +
    moneyNote,
  inputSchema: z.toJSONSchema(batchArgsSchema, { io: 'input' }) as Tool['inputSchema'],
  annotations: {
    title: 'recharge batch',
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: false,
    openWorldHint: true,
  },
});

/** The rows as the JSON lines of a batch file (line 1 is row 1). */
async function* linesOf(rows: z.infer<typeof batchArgsSchema>['rows']): AsyncGenerator<BatchLine> {
  let line = 0;
  for (const r of rows) {
    line++;
    yield await Promise.resolve({ line, text: JSON.stringify({ phone: r.phone, amount: r.amount }) });
  }
}

/** Submit the rows through the batch capability; a batch the policy holds waits for the person. */
export async function submitBatch(
  batch: Pick<BatchApi, 'receive' | 'get'>,
  caller: Caller,
  rows: z.infer<typeof batchArgsSchema>['rows'],
  idem: { readonly ref: IdempotencyRef; readonly recoveryPoint: string | null } | undefined,
): Promise<AgentOutcome> {
  const r =
    typeof idem?.recoveryPoint === 'string'
      ? await batch.get(caller, idem.recoveryPoint)
      : await batch.receive(caller, { lines: linesOf(rows), format: 'ndjson' }, idem?.ref);
  if (!r.ok) return { kind: 'refused', code: r.error.code, reason: r.error.message };
  const { held, ...view } = r.value as typeof r.value & { readonly held?: Parameters<typeof confirmationOf>[0] };
  if (held !== undefined) return { kind: 'awaiting_confirmation', confirm: confirmationOf(held) };
  return { kind: 'done', action: BATCH_TOOL, result: { batch: view } };
}
