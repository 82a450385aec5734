import type { Kysely } from 'kysely';
import type { PendingIntent } from '../../../domain/intent/interpret.js';
import type { AgentSessionRecord, AgentSessionRepository, SessionTurn } from '../../../ports/agent-sessions.js';
import type { FieldCipher } from '../../../ports/field-cipher.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { num } from './columns.js';
import { contextDigest, loadKeys, SEALED } from './sealed.js';

/** What `context_json` holds. */
interface StoredContext {
  readonly pending: PendingIntent | null;
  readonly awaiting?: AgentSessionRecord['awaiting'];
  readonly turns: readonly SessionTurn[];
}

/** A session as read: the conversation opened (its key loaded first) and parsed, times normalised. */
function toSession(r: Row<'agentSessions'>, cipher: FieldCipher): AgentSessionRecord {
  const ctx = JSON.parse(cipher.open(r.contextJson, SEALED.sessionContext)) as StoredContext;
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

/**
 * Agent sessions in plain Kysely (no engine-specific SQL), so SQLite and PostgreSQL share it. The
 * whole conversation — the person's words, the parameters awaiting confirmation — is sealed.
 */
export class KyselyAgentSessions implements AgentSessionRepository {
  constructor(
    private readonly db: Kysely<CamelCaseDatabase>,
    private readonly cipher: FieldCipher,
  ) {}

  async get(tenantId: string, id: string): Promise<AgentSessionRecord | undefined> {
    const row = await this.db
      .selectFrom('agentSessions')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    await loadKeys(this.cipher, this.db, [row.contextJson]);
    return toSession(row, this.cipher);
  }

  async save(s: AgentSessionRecord): Promise<void> {
    const row = sessionRow(s, this.cipher);
    await this.db
      .insertInto('agentSessions')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['tenantId', 'id']).doUpdateSet({
          userId: row.userId,
          contextJson: row.contextJson,
          contextDigest: row.contextDigest,
          lastOrderId: row.lastOrderId,
          updatedAt: row.updatedAt,
          expiresAt: row.expiresAt,
        }),
      )
      .execute();
  }

  async replace(prev: AgentSessionRecord, next: AgentSessionRecord): Promise<boolean> {
    const before = storedContext(prev);
    const digest = contextDigest(this.cipher, before);
    const row = sessionRow(next, this.cipher);
    // Compare and set on the conversation itself, by its keyed digest (the sealed text differs at
    // every write, and a rotation re-sealing it changes nothing the digest covers): under READ
    // COMMITTED a concurrent replace waits for this one and then finds the row changed, so exactly
    // one of them takes it. A row from before sealing (no digest) compares its plaintext.
    const res = await this.db
      .updateTable('agentSessions')
      .set({
        userId: row.userId,
        contextJson: row.contextJson,
        contextDigest: row.contextDigest,
        lastOrderId: row.lastOrderId,
        updatedAt: row.updatedAt,
        expiresAt: row.expiresAt,
      })
      .where('tenantId', '=', prev.tenantId)
      .where('id', '=', prev.id)
      .where((eb) =>
        eb.or([
          eb('contextDigest', '=', digest),
          eb.and([eb('contextDigest', 'is', null), eb('contextJson', '=', before)]),
        ]),
      )
      .where('updatedAt', '=', prev.updatedAt)
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

/** What `context_json` holds, as plaintext JSON (always the same text for the same session). */
function storedContext(s: AgentSessionRecord): string {
  const context: StoredContext = { pending: s.pending, awaiting: s.awaiting, turns: s.turns };
  return JSON.stringify(context);
}

/** A session as written: every column in table order, the conversation sealed beside its digest. */
function sessionRow(s: AgentSessionRecord, cipher: FieldCipher): NewRow<'agentSessions'> {
  const json = storedContext(s);
  return {
    tenantId: s.tenantId,
    id: s.id,
    userId: s.userId,
    contextJson: cipher.seal(json, SEALED.sessionContext),
    contextDigest: contextDigest(cipher, json),
    lastOrderId: s.lastOrderId,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    expiresAt: s.expiresAt,
  };
}
