import type { Kysely } from 'kysely';
import type { CallbackInbox } from '../../../ports/repositories.js';
import type { CamelCaseDatabase } from '../schema.js';

export class KyselyCallbackInbox implements CallbackInbox {
  constructor(private readonly db: Kysely<CamelCaseDatabase>) {}

  async recordEvent(e: {
    gateway: string;
    eventId: string;
    tenantId: string;
    resourceId: string | null;
    outcome: string;
    at: number;
  }): Promise<boolean> {
    const res = await this.db
      .insertInto('callbackEvents')
      .values({
        gateway: e.gateway,
        eventId: e.eventId,
        tenantId: e.tenantId,
        resourceId: e.resourceId,
        outcome: e.outcome,
        receivedAt: e.at,
      })
      .onConflict((oc) => oc.columns(['gateway', 'eventId']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async seenEvent(gateway: string, eventId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('callbackEvents')
      .select('eventId')
      .where('gateway', '=', gateway)
      .where('eventId', '=', eventId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async useNonce(gateway: string, nonce: string, expiresAt: number): Promise<boolean> {
    const res = await this.db
      .insertInto('callbackNonces')
      .values({ gateway, nonce, expiresAt })
      .onConflict((oc) => oc.columns(['gateway', 'nonce']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async purgeNonces(now: number, limit = 10_000): Promise<number> {
    const victims = this.db
      .selectFrom('callbackNonces')
      .select(['gateway', 'nonce'])
      .where('expiresAt', '<', now)
      .limit(limit);
    const res = await this.db
      .deleteFrom('callbackNonces')
      .where((eb) => eb(eb.refTuple('gateway', 'nonce'), 'in', victims.$asTuple('gateway', 'nonce')))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
