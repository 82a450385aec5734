import { type Kysely, type Selectable, sql } from 'kysely';
import type { Journal } from '../../domain/ledger/journal.js';
import type { Currency } from '../../domain/money.js';
import type { RefundStatus } from '../../domain/refund.js';
import type { LedgerBalance, RefundRecord, ReviewFlag } from '../../ports/records.js';
import type { CallbackInbox, LedgerRepository, RefundRepository, ReviewFlags } from '../../ports/repositories.js';
import { num } from './columns.js';
import type { Database, LedgerPostingsTable, RefundsTable, ReviewFlagsTable } from './schema.js';

export function toRefund(r: Selectable<RefundsTable>): RefundRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    orderId: r.order_id,
    paymentId: r.payment_id,
    outRefundNo: r.out_refund_no,
    amount: num(r.amount),
    currency: r.currency as Currency,
    status: r.status as RefundStatus,
    reason: r.reason,
    failureCode: r.failure_code,
    gatewayRefundNo: r.gateway_refund_no,
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    version: num(r.version),
  };
}

function fromRefund(r: RefundRecord): Selectable<RefundsTable> {
  return {
    id: r.id,
    tenant_id: r.tenantId,
    order_id: r.orderId,
    payment_id: r.paymentId,
    out_refund_no: r.outRefundNo,
    amount: r.amount,
    currency: r.currency,
    status: r.status,
    reason: r.reason,
    failure_code: r.failureCode,
    gateway_refund_no: r.gatewayRefundNo,
    created_by: r.createdBy,
    updated_by: r.updatedBy,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    version: r.version,
  };
}

export class KyselyRefunds implements RefundRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(refund: RefundRecord): Promise<void> {
    await this.db.insertInto('refunds').values(fromRefund(refund)).execute();
  }

  async listAfter(tenantId: string, afterId: string | null, limit: number): Promise<ReturnType<typeof toRefund>[]> {
    let q = this.db.selectFrom('refunds').selectAll().where('tenant_id', '=', tenantId);
    if (afterId !== null) q = q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toRefund);
  }

  async get(tenantId: string, id: string): Promise<RefundRecord | undefined> {
    const row = await this.db
      .selectFrom('refunds')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toRefund(row);
  }

  async getByOutRefundNo(outRefundNo: string): Promise<RefundRecord | undefined> {
    const row = await this.db
      .selectFrom('refunds')
      .selectAll()
      .where('out_refund_no', '=', outRefundNo)
      .executeTakeFirst();
    return row === undefined ? undefined : toRefund(row);
  }

  async listByPayment(tenantId: string, paymentId: string): Promise<RefundRecord[]> {
    const rows = await this.db
      .selectFrom('refunds')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('payment_id', '=', paymentId)
      .orderBy('id')
      .execute();
    return rows.map(toRefund);
  }

  async update(r: RefundRecord, expectedVersion: number): Promise<boolean> {
    const res = await this.db
      .updateTable('refunds')
      .set({
        status: r.status,
        failure_code: r.failureCode,
        gateway_refund_no: r.gatewayRefundNo,
        updated_by: r.updatedBy,
        updated_at: r.updatedAt,
        version: r.version,
      })
      .where('tenant_id', '=', r.tenantId)
      .where('id', '=', r.id)
      .where('version', '=', expectedVersion)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}

export function postingRows(journals: readonly Journal[]): Array<Selectable<LedgerPostingsTable>> {
  return journals.flatMap((j) =>
    j.postings.map((p, line) => ({
      journal_id: j.id,
      line,
      tenant_id: j.tenantId,
      account: p.account,
      amount: p.amount,
      currency: j.currency,
      kind: j.kind,
      resource_type: j.resourceType,
      resource_id: j.resourceId,
      actor: j.actor,
      at: j.at,
    })),
  );
}

export class KyselyLedger implements LedgerRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async append(journals: readonly Journal[]): Promise<void> {
    const rows = postingRows(journals);
    // Chunked: SQLite caps bound parameters per statement.
    for (let i = 0; i < rows.length; i += 64)
      await this.db
        .insertInto('ledger_postings')
        .values(rows.slice(i, i + 64))
        .execute();
  }

  async balances(tenantId: string): Promise<LedgerBalance[]> {
    const rows = await this.db
      .selectFrom('ledger_postings')
      .select(['account', 'currency', (eb) => eb.fn.sum<number | string>('amount').as('balance')])
      .where('tenant_id', '=', tenantId)
      .groupBy(['account', 'currency'])
      .orderBy('account')
      .orderBy('currency')
      .execute();
    return rows.map((r) => ({ account: r.account, currency: r.currency as Currency, balance: num(r.balance) }));
  }

  async unbalancedJournals(tenantId?: string): Promise<Array<{ journalId: string; sum: number }>> {
    let q = this.db
      .selectFrom('ledger_postings')
      .select(['journal_id', (eb) => eb.fn.sum<number | string>('amount').as('total')]);
    if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
    const rows = await q
      .groupBy('journal_id')
      .having(sql`sum(amount)`, '<>', 0)
      .execute();
    return rows.map((r) => ({ journalId: r.journal_id, sum: num(r.total) }));
  }

  async journalIdsByResource(tenantId: string, resourceIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (resourceIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('ledger_postings')
      .select(['resource_id', 'journal_id'])
      .distinct()
      .where('tenant_id', '=', tenantId)
      .where('resource_id', 'in', [...resourceIds])
      .orderBy('journal_id')
      .execute();
    for (const r of rows) {
      const ids = out.get(r.resource_id) ?? [];
      ids.push(r.journal_id);
      out.set(r.resource_id, ids);
    }
    return out;
  }

  async journalsFor(tenantId: string, resourceId: string): Promise<Journal[]> {
    const rows = await this.db
      .selectFrom('ledger_postings')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('resource_id', '=', resourceId)
      .orderBy('at')
      .orderBy('journal_id')
      .orderBy('line')
      .execute();
    const out = new Map<
      string,
      { j: Omit<Journal, 'postings'>; postings: Array<{ account: string; amount: number }> }
    >();
    for (const r of rows) {
      let e = out.get(r.journal_id);
      if (e === undefined) {
        e = {
          j: {
            id: r.journal_id,
            tenantId: r.tenant_id,
            kind: r.kind,
            resourceType: r.resource_type,
            resourceId: r.resource_id,
            currency: r.currency as Currency,
            at: num(r.at),
            actor: r.actor,
          },
          postings: [],
        };
        out.set(r.journal_id, e);
      }
      e.postings.push({ account: r.account, amount: num(r.amount) });
    }
    return [...out.values()].map((e) => ({ ...e.j, postings: e.postings }));
  }
}

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

function toFlag(r: Selectable<ReviewFlagsTable>): ReviewFlag {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    code: r.code,
    detail: JSON.parse(r.detail_json) as Record<string, unknown>,
    createdAt: num(r.created_at),
    resolvedAt: r.resolved_at === null ? null : num(r.resolved_at),
  };
}

const flagRow = (f: ReviewFlag) => ({
  id: f.id,
  tenant_id: f.tenantId,
  resource_type: f.resourceType,
  resource_id: f.resourceId,
  code: f.code,
  detail_json: JSON.stringify(f.detail),
  created_at: f.createdAt,
  resolved_at: f.resolvedAt,
});

export class KyselyReviewFlags implements ReviewFlags {
  constructor(private readonly db: Kysely<Database>) {}

  async raise(f: ReviewFlag): Promise<void> {
    await this.db.insertInto('review_flags').values(flagRow(f)).execute();
  }

  async raiseOnce(f: ReviewFlag): Promise<boolean> {
    const res = await this.db
      .insertInto('review_flags')
      .values(flagRow(f))
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async resolve(tenantId: string, id: string, at: number): Promise<boolean> {
    const res = await this.db
      .updateTable('review_flags')
      .set({ resolved_at: at })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('resolved_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async list(tenantId: string, options: { readonly open?: boolean; readonly limit: number }): Promise<ReviewFlag[]> {
    let q = this.db.selectFrom('review_flags').selectAll().where('tenant_id', '=', tenantId);
    if (options.open === true) q = q.where('resolved_at', 'is', null);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
    return rows.map(toFlag);
  }
}

/** The payment-side repositories for one connection or transaction. */
export function paymentSideRepositories(db: Kysely<Database>): {
  refunds: RefundRepository;
  ledger: LedgerRepository;
  callbacks: CallbackInbox;
  flags: ReviewFlags;
} {
  return {
    refunds: new KyselyRefunds(db),
    ledger: new KyselyLedger(db),
    callbacks: new KyselyCallbackInbox(db),
    flags: new KyselyReviewFlags(db),
  };
}
