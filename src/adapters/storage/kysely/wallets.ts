import { type Kysely, sql } from 'kysely';
import type { Currency } from '../../../domain/money.js';
import type { WalletRecord } from '../../../ports/records.js';
import type { WalletRepository } from '../../../ports/repositories.js';
import type { Database } from '../schema.js';
import { num } from './columns.js';

export class KyselyWallets implements WalletRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(tenantId: string, userId: string): Promise<WalletRecord | undefined> {
    const r = await this.db
      .selectFrom('wallets')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return r === undefined
      ? undefined
      : {
          tenantId: r.tenant_id,
          userId: r.user_id,
          currency: r.currency as Currency,
          balance: num(r.balance),
          updatedAt: num(r.updated_at),
        };
  }

  async credit(tenantId: string, userId: string, currency: string, amount: number, now: number): Promise<void> {
    await this.db
      .insertInto('wallets')
      .values({ tenant_id: tenantId, user_id: userId, currency, balance: amount, updated_at: now })
      .onConflict((oc) =>
        oc
          .columns(['tenant_id', 'user_id'])
          .doUpdateSet({ balance: sql<number>`wallets.balance + excluded.balance`, updated_at: now }),
      )
      .execute();
  }

  async reserve(tenantId: string, userId: string, currency: string, amount: number, now: number): Promise<boolean> {
    const res = await this.db
      .updateTable('wallets')
      .set({ balance: sql<number>`balance - ${amount}`, updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('currency', '=', currency)
      .where('balance', '>=', amount)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}
