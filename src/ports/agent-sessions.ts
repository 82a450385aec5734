import type { PendingIntent } from '../domain/intent/interpret.js';

/** One earlier turn, kept so a model sees the conversation (never logged). */
export interface SessionTurn {
  readonly text: string;
  /** What came of it: an action name, "clarify:<action>", or an error code. */
  readonly result: string;
}

/**
 * A conversation with the agent: what it still waits to hear (a pending intent with missing
 * slots) and the last order it placed, which "last" / "刚才那单" refer to. It lives until
 * `expiresAt` (context_retention.ttl_seconds after the last turn); an expired session starts over.
 */
export interface AgentSessionRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly pending: PendingIntent | null;
  /** A registered action the policy holds for the person's explicit confirmation. */
  readonly awaiting: { readonly action: string; readonly params: Readonly<Record<string, unknown>> } | null;
  readonly lastOrderId: string | null;
  readonly turns: readonly SessionTurn[];
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly expiresAt: number;
}

/** Agent sessions, stored in the database so any instance can carry a conversation on. */
export interface AgentSessionRepository {
  /** The session, expired or not (the caller decides what expiry means), or undefined. */
  get(tenantId: string, id: string): Promise<AgentSessionRecord | undefined>;
  /** Insert or replace the session. */
  save(session: AgentSessionRecord): Promise<void>;
  /**
   * Replace `prev` by `next` only if the stored session is still exactly `prev` (compare and
   * set); false when someone changed it first. Claims on a session (taking its pending
   * confirmation) go through this, so two concurrent confirms cannot both take it.
   */
  replace(prev: AgentSessionRecord, next: AgentSessionRecord): Promise<boolean>;
  /** Delete up to `limit` sessions that expired before `now`; returns how many. */
  purgeExpired(now: number, limit?: number): Promise<number>;
}
