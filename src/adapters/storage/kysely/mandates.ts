import { type Kysely, sql } from 'kysely';
import type { MandatePeriod, MandateRecord, MandateRepository, MandateSpendRecord } from '../../../ports/mandates.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { filterOnly, num, numOrNull } from './columns.js';

function toMandate(r: Row<'mandates'>): MandateRecord {
  return {
    id: r.id,
    tenantId: r.tenantId,
    userId: r.userId,
    agentId: r.agentId,
    actions: JSON.parse(r.actionsJson) as string[],
    payees: JSON.parse(r.payeesJson) as string[],
    currency: r.currency,
    maxPerTransaction: num(r.maxPerTransaction),
    budget: num(r.budget),
    period: r.period as MandatePeriod,
    periodStart: num(r.periodStart),
    spent: num(r.spent),
    jws: r.jws,
    createdAt: num(r.createdAt),
    expiresAt: num(r.expiresAt),
    revokedAt: numOrNull(r.revokedAt),
    revokedBy: r.revokedBy,
  };
}

function mandateRow(m: MandateRecord): NewRow<'mandates'> {
  return {
    id: m.id,
    tenantId: m.tenantId,
    userId: m.userId,
    agentId: m.agentId,
    actionsJson: JSON.stringify(m.actions),
    payeesJson: JSON.stringify(m.payees),
    currency: m.currency,
    maxPerTransaction: m.maxPerTransaction,
    budget: m.budget,
    period: m.period,
    periodStart: m.periodStart,
    spent: m.spent,
    jws: m.jws,
    createdAt: m.createdAt,
    expiresAt: m.expiresAt,
    revokedAt: m.revokedAt,
    revokedBy: m.revokedBy,
  };
}

export class KyselyMandates implements MandateRepository {
  constructor(private readonly db: Kysely<CamelCaseDatabase>) {}

  async insert(m: MandateRecord): Promise<void> {
    await this.db.insertInto('mandates').values(mandateRow(m)).execute();
  }

  async get(tenantId: string, id: string): Promise<MandateRecord | undefined> {
    const row = await this.db
      .selectFrom('mandates')
      .selectAll()
      .where('id', '=', id)
      .where(filterOnly('tenantId'), '=', tenantId)
      .executeTakeFirst();
    return row === undefined ? undefined : toMandate(row);
  }

  async list(tenantId: string, by: 'user' | 'agent', id: string): Promise<MandateRecord[]> {
    const rows = await this.db
      .selectFrom('mandates')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where(by === 'user' ? 'userId' : 'agentId', '=', id)
      .orderBy('createdAt', 'desc')
      .orderBy('id', 'desc')
      .limit(200)
      .execute();
    return rows.map(toMandate);
  }

  async spend(tenantId: string, id: string, amount: number, periodStart: number, now: number): Promise<boolean> {
    // What the period will have spent after this one: a new period starts from nothing.
    const after = sql<number>`(case when period_start = ${periodStart} then spent + ${amount} else ${amount} end)`;
    const r = await this.db
      .updateTable('mandates')
      .set({ spent: after, periodStart })
      .where('id', '=', id)
      .where(filterOnly('tenantId'), '=', tenantId)
      .where('revokedAt', 'is', null)
      .where('expiresAt', '>', now)
      .where('periodStart', '<=', periodStart)
      .where(after, '<=', sql<number>`budget`)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async recordSpend(s: MandateSpendRecord): Promise<void> {
    await this.db
      .insertInto('mandateSpends')
      .values({ ...s, returnedAt: null })
      .execute();
  }

  async returnSpend(tenantId: string, resourceId: string, now: number): Promise<MandateSpendRecord | undefined> {
    const r = await this.db
      .updateTable('mandateSpends')
      .set({ returnedAt: now })
      .where('tenantId', '=', tenantId)
      .where('resourceId', '=', resourceId)
      .where('returnedAt', 'is', null)
      .returning(['tenantId', 'resourceId', 'mandateId', 'amount', 'periodStart', 'spentAt'])
      .executeTakeFirst();
    return r === undefined
      ? undefined
      : { ...r, amount: num(r.amount), periodStart: num(r.periodStart), spentAt: num(r.spentAt) };
  }

  async giveBack(tenantId: string, id: string, amount: number, periodStart: number): Promise<void> {
    await this.db
      .updateTable('mandates')
      .set({ spent: sql<number>`case when spent > ${amount} then spent - ${amount} else 0 end` })
      .where('id', '=', id)
      .where(filterOnly('tenantId'), '=', tenantId)
      .where('periodStart', '=', periodStart)
      .execute();
  }

  async revoke(tenantId: string, id: string, by: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('mandates')
      .set({ revokedAt: now, revokedBy: by })
      .where('id', '=', id)
      .where(filterOnly('tenantId'), '=', tenantId)
      .where('revokedAt', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
