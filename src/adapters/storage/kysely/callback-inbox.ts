import type { Kysely } from 'kysely';
import type { CallbackInbox } from '../../../ports/repositories.js';
import type { Database } from '../schema.js';

export class KyselyCallbackInbox implements CallbackInbox {
  constructor(private readonly db: Kysely<Database>) {}

  async recordEvent(e: {
    gateway: string;
    eventId: string;
    tenantId: string;
    resourceId: string | null;
    outcome: string;
    at: number;
  }): Promise<boolean> {
    const res = await this.db
      .insertInto('callback_events')
      .values({
        gateway: e.gateway,
        event_id: e.eventId,
        tenant_id: e.tenantId,
        resource_id: e.resourceId,
        outcome: e.outcome,
        received_at: e.at,
      })
      .onConflict((oc) => oc.columns(['gateway', 'event_id']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async seenEvent(gateway: string, eventId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('callback_events')
      .select('event_id')
      .where('gateway', '=', gateway)
      .where('event_id', '=', eventId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async useNonce(gateway: string, nonce: string, expiresAt: number): Promise<boolean> {
    const res = await this.db
      .insertInto('callback_nonces')
      .values({ gateway, nonce, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['gateway', 'nonce']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async purgeNonces(now: number, limit = 10_000): Promise<number> {
    const victims = this.db
      .selectFrom('callback_nonces')
      .select(['gateway', 'nonce'])
      .where('expires_at', '<', now)
      .limit(limit);
    const res = await this.db
      .deleteFrom('callback_nonces')
      .where((eb) => eb(eb.refTuple('gateway', 'nonce'), 'in', victims.$asTuple('gateway', 'nonce')))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
