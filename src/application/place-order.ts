import { type OrderLine, quote } from '../domain/menu.js';
import { decideOrder, type OrderDecision } from '../domain/policy.js';
import type { Result } from '../domain/result.js';
import type { OrderRecord, PaymentRecord } from '../ports/records.js';
import type { Repositories } from '../ports/repositories.js';
import { asResult, type Caller, type Deps, UseCaseError } from './context.js';
import { JOB, PRIORITY } from './job-kinds.js';
import { changeOrder, changePayment, outTradeNoFor, startOfDay } from './state-changes.js';

/** Where an idempotent request records what it created, inside the same transaction. */
export interface IdempotencyRef {
  readonly scope: string;
  readonly key: string;
}

export interface PlacedOrder {
  readonly order: OrderRecord;
  readonly payment: PaymentRecord;
  readonly decision: OrderDecision;
  /** Id of the payment job this process holds when the order is paid at once; run it next. */
  readonly payJobId: string | null;
}

/**
 * Place a coffee order: price it from the menu, let the engine's policy decide (pay now, wait
 * for payment, wait for confirmation, or refuse), and write the order, its payment, the audit
 * rows and the job that continues the work in ONE transaction. No outside call happens here.
 */
export async function placeOrder(
  deps: Deps,
  caller: Caller,
  line: OrderLine,
  idempotency?: IdempotencyRef,
): Promise<Result<PlacedOrder>> {
  const priced = quote(deps.menu(), line);
  if (!priced.ok) return priced;
  const q = priced.value;
  const now = deps.clock.now();
  const orderId = deps.ids.next('ord');
  const paymentId = deps.ids.next('pay');
  const jobId = deps.ids.next('job');
  const s = deps.settings;

  return asResult(() =>
    deps.uow.run(async (r: Repositories) => {
      // Read and write in one IMMEDIATE transaction, so concurrent orders cannot both slip under the limit.
      const policy = deps.policy();
      // Only a daily limit needs today's spending; reading it costs a scan of the user's orders.
      const spentToday =
        policy.daily_limit_per_user === undefined
          ? 0
          : await r.orders.sumCommittedSince(caller.tenantId, caller.userId, startOfDay(now, s.dayOffsetMinutes), q.total.currency);
      const decided = decideOrder(policy, { total: q.total, spentToday });
      if (!decided.ok) throw new UseCaseError(decided.error.code, decided.error.message, decided.error.details);
      const decision = decided.value;
      const meta = { actor: caller.actor, now, requestId: caller.requestId };

      const created: OrderRecord = {
        id: orderId,
        tenantId: caller.tenantId,
        userId: caller.userId,
        status: 'CREATED',
        drink: q.drink.id,
        size: q.size,
        quantity: q.quantity,
        options: q.options,
        description: q.description,
        unitAmount: q.unitPrice.amount,
        amount: q.total.amount,
        currency: q.total.currency,
        paymentId,
        statusReason: null,
        createdBy: caller.actor,
        updatedBy: caller.actor,
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      await r.orders.insert(created);
      await r.audit.append({
        tenantId: caller.tenantId,
        at: now,
        actor: caller.actor,
        action: 'order.created',
        resourceType: 'order',
        resourceId: orderId,
        before: null,
        after: { status: 'CREATED', drink: created.drink, size: created.size, quantity: created.quantity, amount: created.amount, currency: created.currency },
        requestId: caller.requestId,
      });
      let payment: PaymentRecord = {
        id: paymentId,
        tenantId: caller.tenantId,
        orderId,
        status: 'CREATED',
        amount: q.total.amount,
        refundedAmount: 0,
        currency: q.total.currency,
        gateway: s.paymentGateway,
        method: s.paymentMethod,
        attempt: 0,
        outTradeNo: null,
        gatewayTradeNo: null,
        failureCode: null,
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      await r.payments.insert(payment);

      let order: OrderRecord;
      let payJobId: string | null = null;
      switch (decision.kind) {
        case 'pay_now': {
          order = await changeOrder(r, created, { type: 'submit_payment' }, { ...meta, reason: null });
          payment = await startPayment(r, deps, payment, jobId, orderId, meta);
          payJobId = jobId;
          break;
        }
        case 'await_payment':
          order = await changeOrder(r, created, { type: 'await_payment' }, { ...meta, reason: decision.reason });
          await scheduleExpiry(r, deps, jobId, order, now);
          break;
        case 'await_confirmation':
          order = await changeOrder(r, created, { type: 'require_confirmation' }, { ...meta, reason: decision.reason });
          await scheduleExpiry(r, deps, jobId, order, now);
          break;
        default: {
          const never: never = decision;
          throw new Error(`unknown decision ${JSON.stringify(never)}`);
        }
      }
      if (idempotency !== undefined) await r.idempotency.setRecoveryPoint(caller.tenantId, idempotency.scope, idempotency.key, orderId);
      return { order, payment, decision, payJobId };
    }),
  );
}

/**
 * Move a payment to PENDING with its out_trade_no persisted BEFORE any gateway call, and create
 * the pay job leased to this process (so the request can run it at once; if we crash, the
 * lease expires and any worker resumes it with a query first).
 */
export async function startPayment(
  r: Repositories,
  deps: Deps,
  payment: PaymentRecord,
  jobId: string,
  orderId: string,
  meta: { readonly actor: string; readonly now: number; readonly requestId: string | null },
): Promise<PaymentRecord> {
  const attempt = payment.attempt + 1;
  const next = await changePayment(r, payment, { type: 'submit' }, { attempt, outTradeNo: outTradeNoFor(payment.id, attempt) }, meta);
  await r.jobs.enqueue({
    id: jobId,
    now: meta.now,
    tenantId: payment.tenantId,
    kind: JOB.payOrder,
    resourceId: orderId,
    priority: PRIORITY.pay,
    runAt: meta.now,
    maxAttempts: deps.settings.maxAttempts,
    leaseTo: { owner: deps.workerId, until: meta.now + deps.settings.leaseMs },
  });
  return next;
}

async function scheduleExpiry(r: Repositories, deps: Deps, jobId: string, order: OrderRecord, now: number): Promise<void> {
  await r.jobs.enqueue({
    id: jobId,
    now,
    tenantId: order.tenantId,
    kind: JOB.expireOrder,
    resourceId: order.id,
    priority: PRIORITY.expire,
    runAt: now + deps.settings.unpaidTimeoutMs,
    maxAttempts: deps.settings.maxAttempts,
  });
}
