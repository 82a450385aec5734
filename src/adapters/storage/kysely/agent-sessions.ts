import type { Kysely, Selectable } from 'kysely';
import type { PendingIntent } from '../../../domain/intent/interpret.js';
import type { AgentSessionRecord, AgentSessionRepository, SessionTurn } from '../../../ports/agent-sessions.js';
import { num } from './columns.js';
import type { AgentSessionsTable, Database } from '../schema.js';

interface StoredContext {
  readonly pending: PendingIntent | null;
  readonly awaiting?: AgentSessionRecord['awaiting'];
  readonly turns: readonly SessionTurn[];
}

function toSession(r: Selectable<AgentSessionsTable>): AgentSessionRecord {
  const ctx = JSON.parse(r.context_json) as StoredContext;
  return {
    id: r.id,
    tenantId: r.tenant_id,
    userId: r.user_id,
    pending: ctx.pending,
    awaiting: ctx.awaiting ?? null,
    turns: ctx.turns,
    lastOrderId: r.last_order_id,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    expiresAt: num(r.expires_at),
  };
}

/** Agent sessions in plain Kysely (no engine-specific SQL), so SQLite and PostgreSQL share it. */
export class KyselyAgentSessions implements AgentSessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(tenantId: string, id: string): Promise<AgentSessionRecord | undefined> {
    const row = await this.db
      .selectFrom('agent_sessions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toSession(row);
  }

  async save(s: AgentSessionRecord): Promise<void> {
    const row = sessionRow(s);
    await this.db
      .insertInto('agent_sessions')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'id']).doUpdateSet({
          user_id: row.user_id,
          context_json: row.context_json,
          last_order_id: row.last_order_id,
          updated_at: row.updated_at,
          expires_at: row.expires_at,
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
      .updateTable('agent_sessions')
      .set({
        user_id: row.user_id,
        context_json: row.context_json,
        last_order_id: row.last_order_id,
        updated_at: row.updated_at,
        expires_at: row.expires_at,
      })
      .where('tenant_id', '=', before.tenant_id)
      .where('id', '=', before.id)
      .where('context_json', '=', before.context_json)
      .where('updated_at', '=', before.updated_at)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async purgeExpired(now: number, limit = 10_000): Promise<number> {
    const victims = this.db
      .selectFrom('agent_sessions')
      .select(['tenant_id', 'id'])
      .where('expires_at', '<', now)
      .limit(limit);
    const res = await this.db
      .deleteFrom('agent_sessions')
      .where((eb) => eb(eb.refTuple('tenant_id', 'id'), 'in', victims.$asTuple('tenant_id', 'id')))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}

function sessionRow(s: AgentSessionRecord): Selectable<AgentSessionsTable> {
  const context: StoredContext = { pending: s.pending, awaiting: s.awaiting, turns: s.turns };
  return {
    tenant_id: s.tenantId,
    id: s.id,
    user_id: s.userId,
    context_json: JSON.stringify(context),
    last_order_id: s.lastOrderId,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    expires_at: s.expiresAt,
  };
}
