import { type Kysely, sql } from 'kysely';
import type { Currency } from '../../../domain/money.js';
import type { WalletRecord } from '../../../ports/records.js';
import type { WalletRepository } from '../../../ports/repositories.js';
import type { CamelCaseDatabase } from '../schema.js';
import { num } from './columns.js';

export class KyselyWallets implements WalletRepository {
  constructor(private readonly db: Kysely<CamelCaseDatabase>) {}

  async get(tenantId: string, userId: string): Promise<WalletRecord | undefined> {
    const r = await this.db
      .selectFrom('wallets')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('userId', '=', userId)
      .executeTakeFirst();
    return r === undefined
      ? undefined
      : { ...r, currency: r.currency as Currency, balance: num(r.balance), updatedAt: num(r.updatedAt) };
  }

  async credit(tenantId: string, userId: string, currency: string, amount: number, now: number): Promise<void> {
    await this.db
      .insertInto('wallets')
      .values({ tenantId, userId, currency, balance: amount, updatedAt: now })
      .onConflict((oc) =>
        oc
          .columns(['tenantId', 'userId'])
          .doUpdateSet({ balance: sql<number>`wallets.balance + excluded.balance`, updatedAt: now }),
      )
      .execute();
  }

  async reserve(tenantId: string, userId: string, currency: string, amount: number, now: number): Promise<boolean> {
    const res = await this.db
      .updateTable('wallets')
      .set({ balance: sql<number>`balance - ${amount}`, updatedAt: now })
      .where('tenantId', '=', tenantId)
      .where('userId', '=', userId)
      .where('currency', '=', currency)
      .where('balance', '>=', amount)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}
