import type { Kysely } from 'kysely';
import type { PendingIntent } from '../../../domain/intent/interpret.js';
import type { AgentSessionRecord, AgentSessionRepository, SessionTurn } from '../../../ports/agent-sessions.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { num } from './columns.js';

/** What `context_json` holds. */
interface StoredContext {
  readonly pending: PendingIntent | null;
  readonly awaiting?: AgentSessionRecord['awaiting'];
  readonly turns: readonly SessionTurn[];
}

/** A session as read: times normalised, the conversation parsed. */
function toSession(r: Row<'agentSessions'>): AgentSessionRecord {
  const ctx = JSON.parse(r.contextJson) as StoredContext;
  return {
    id: r.id,
    tenantId: r.tenantId,
    userId: r.userId,
    pending: ctx.pending,
    awaiting: ctx.awaiting ?? null,
    turns: ctx.turns,
    lastOrderId: r.lastOrderId,
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt),
    expiresAt: num(r.expiresAt),
  };
}

/** Agent sessions in plain Kysely (no engine-specific SQL), so SQLite and PostgreSQL share it. */
export class KyselyAgentSessions implements AgentSessionRepository {
  constructor(private readonly db: Kysely<CamelCaseDatabase>) {}

  async get(tenantId: string, id: string): Promise<AgentSessionRecord | undefined> {
    const row = await this.db
      .selectFrom('agentSessions')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toSession(row);
  }

  async save(s: AgentSessionRecord): Promise<void> {
    const row = sessionRow(s);
    await this.db
      .insertInto('agentSessions')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['tenantId', 'id']).doUpdateSet({
          userId: row.userId,
          contextJson: row.contextJson,
          lastOrderId: row.lastOrderId,
          updatedAt: row.updatedAt,
          expiresAt: row.expiresAt,
        }),
      )
      .execute();
  }

  async replace(prev: AgentSessionRecord, next: AgentSessionRecord): Promise<boolean> {
    const before = sessionRow(prev);
    const row = sessionRow(next);
    // Compare and set on the stored text itself: under READ COMMITTED a concurrent replace waits
    // for this one and then finds the row changed, so exactly one of them takes it.
    const res = await this.db
      .updateTable('agentSessions')
      .set({
        userId: row.userId,
        contextJson: row.contextJson,
        lastOrderId: row.lastOrderId,
        updatedAt: row.updatedAt,
        expiresAt: row.expiresAt,
      })
      .where('tenantId', '=', before.tenantId)
      .where('id', '=', before.id)
      .where('contextJson', '=', before.contextJson)
      .where('updatedAt', '=', before.updatedAt)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async purgeExpired(now: number, limit = 10_000): Promise<number> {
    const victims = this.db
      .selectFrom('agentSessions')
      .select(['tenantId', 'id'])
      .where('expiresAt', '<', now)
      .limit(limit);
    const res = await this.db
      .deleteFrom('agentSessions')
      .where((eb) => eb(eb.refTuple('tenantId', 'id'), 'in', victims.$asTuple('tenantId', 'id')))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}

/** A session as written: every column in table order. */
function sessionRow(s: AgentSessionRecord): NewRow<'agentSessions'> {
  const context: StoredContext = { pending: s.pending, awaiting: s.awaiting, turns: s.turns };
  return {
    tenantId: s.tenantId,
    id: s.id,
    userId: s.userId,
    contextJson: JSON.stringify(context),
    lastOrderId: s.lastOrderId,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    expiresAt: s.expiresAt,
  };
}
