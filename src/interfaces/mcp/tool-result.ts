import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type AgentOutcome, describeOutcome } from '../../application/agent/agent-api.js';

/** How a held action or waiting order reached the person, when the tool asked. */
export type PersonAnswer =
  /** The person accepted in the MCP client; what ran is in the outcome. */
  | { readonly via: 'mcp-elicitation'; readonly answer: 'accepted' }
  /** The person declined in the MCP client; the hold was rejected / the order cancelled. */
  | { readonly via: 'mcp-elicitation'; readonly answer: 'declined' }
  /** Not asked in the client (configured off, the client cannot, or the person dismissed it): still pending. */
  | { readonly via: 'pending'; readonly reason: string; readonly how_to_confirm: string };

/** A stable-coded refusal as a tool result a model can read (and act on), never a protocol error. */
export function errorResult(
  code: string,
  message: string,
  details?: Readonly<Record<string, unknown>>,
): CallToolResult {
  return outcomeResult({
    kind: 'refused',
    code,
    reason: message,
    ...(details === undefined ? {} : { details }),
  });
}

/**
 * An outcome as MCP tool result: one line of text for the model, and the whole outcome as
 * `structuredContent` (the shape `POST /api/v1/agent/messages` answers with), plus how the person
 * answered when they were asked. Refusals and failed payments are `isError`.
 */
export function outcomeResult(outcome: AgentOutcome, person?: PersonAnswer): CallToolResult {
  const lines = [describeOutcome(outcome)];
  if (person?.via === 'pending') lines.push(`Not confirmed yet (${person.reason}). ${person.how_to_confirm}`);
  if (person?.via === 'mcp-elicitation') lines.push(`The person ${person.answer} this in the MCP client.`);
  return {
    content: [{ type: 'text', text: lines.join('\n') }],
    structuredContent: { ...outcome, ...(person === undefined ? {} : { person }) },
    isError: outcome.kind === 'refused' || outcome.kind === 'payment_failed',
  };
}
