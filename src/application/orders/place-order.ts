import { keys } from '../../domain/keys.js';
import { type OrderLine, quote } from '../../domain/menu.js';
import { decideOrder, type OrderDecision } from '../../domain/policy.js';
import type { Result } from '../../domain/result.js';
import type { MandateRecord } from '../../ports/mandates.js';
import type { JobRecord, OrderRecord, PaymentRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import { enqueueJob, enqueueLeased } from '../jobs/job-steps.js';
import type { Caller } from '../kernel/caller.js';
import type { ChangeSet } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { spentToday } from '../kernel/spending.js';
import { spendFromMandate } from '../kernel/mandates.js';
import { PAYEE } from '../../domain/mandate.js';
import { type IdempotencyRef, recordRecoveryPoint } from '../kernel/idempotency.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';

export interface PlacedOrder {
  readonly order: OrderRecord;
  readonly payment: PaymentRecord;
  readonly decision: OrderDecision;
  /** The payment job this process holds when the order is paid at once; run it next. */
  readonly payJob: JobRecord | null;
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
  const s = deps.settings;
  // Chosen before the transaction (it reads gateway health) and fixed before any call is made.
  const route = deps.routeGateway({ amount: q.total, method: s.paymentMethod });

  return asResult(() =>
    tx(deps.uow, { actor: caller.actor, now, requestId: caller.requestId }, async (r, changes) => {
      // Read and decide in the same transaction that writes, so concurrent orders cannot both slip under the limit.
      const policy = deps.policy();
      // Only a daily limit needs today's spending (orders and recharges); reading it costs a scan.
      const spent =
        policy.daily_limit_per_user === undefined ? 0 : await spentToday(r, deps, caller, now, q.total.currency);
      const decided = decideOrder(policy, { total: q.total, spentToday: spent });
      if (!decided.ok) throw new UseCaseError(decided.error.code, decided.error.message, decided.error.details);
      const { decision, mandate } = await underMandate(r, changes, deps, caller, {
        decided: decided.value,
        mandated: () => decideOrder(policy, { total: q.total, spentToday: spent, mandated: true }),
        amount: q.total.amount,
        currency: q.total.currency,
        orderId,
      });
      if (decision.kind === 'pay_now' && !route.ok) {
        throw new UseCaseError(route.error.code, route.error.message, route.error.details);
      }
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
      changes.audit('order', caller.tenantId, orderId, 'order.created', null, {
        status: 'CREATED',
        drink: created.drink,
        size: created.size,
        quantity: created.quantity,
        amount: created.amount,
        currency: created.currency,
        ...(mandate === undefined ? {} : { mandate: mandate.id }),
      });
      const newPayment: PaymentRecord = {
        id: paymentId,
        tenantId: caller.tenantId,
        orderId,
        status: 'CREATED',
        amount: q.total.amount,
        refundedAmount: 0,
        currency: q.total.currency,
        gateway: route.ok ? route.value : s.paymentGateway,
        method: s.paymentMethod,
        attempt: 0,
        outTradeNo: null,
        gatewayTradeNo: null,
        failureCode: null,
        qrCode: null,
        payUrl: null,
        payExpiresAt: null,
        createdBy: caller.actor,
        updatedBy: caller.actor,
        createdAt: now,
        updatedAt: now,
        version: 1,
      };

      // Every move is decided in memory by the state machines; each row is then written once.
      let order: OrderRecord;
      let payment = newPayment;
      switch (decision.kind) {
        case 'pay_now':
          order = changes.moveOrder(created, [{ type: 'submit_payment' }], null);
          payment = submitPayment(changes, newPayment);
          break;
        case 'await_payment':
          order = changes.moveOrder(created, [{ type: 'await_payment' }], decision.reason);
          break;
        case 'await_confirmation':
          order = changes.moveOrder(created, [{ type: 'require_confirmation' }], decision.reason);
          break;
        default: {
          const never: never = decision;
          throw new Error(`unknown decision ${JSON.stringify(never)}`);
        }
      }
      await r.orders.insert(order);
      await r.payments.insert(payment);
      let payJob: JobRecord | null = null;
      if (decision.kind === 'pay_now') payJob = await enqueuePayJob(r, deps, payment, now);
      else await scheduleExpiry(r, deps, order, now);
      await recordRecoveryPoint(r, caller.tenantId, idempotency, orderId);
      return { order, payment, decision, payJob };
    }),
  );
}

/**
 * Move a payment to PENDING with its out_trade_no decided (and persisted with this transaction)
 * BEFORE any gateway call. The key is deterministic per attempt, so every retry and every
 * resume after a crash asks the gateway about the same payment.
 */
export function submitPayment(changes: ChangeSet, payment: PaymentRecord): PaymentRecord {
  const attempt = payment.attempt + 1;
  return changes.movePayment(
    payment,
    { type: 'submit' },
    { attempt, outTradeNo: keys.outTradeNo(payment.id, attempt) },
  );
}

/**
 * The pay job, created already leased to this process so the request can run it at once; if
 * the process dies, the lease expires and any worker resumes it (querying the gateway first).
 */
export function enqueuePayJob(r: Repositories, deps: Deps, payment: PaymentRecord, now: number): Promise<JobRecord> {
  return enqueueLeased(
    r,
    deps,
    { tenantId: payment.tenantId, kind: JOB.payOrder, resourceId: payment.orderId, priority: PRIORITY.pay },
    now,
  );
}

async function scheduleExpiry(r: Repositories, deps: Deps, order: OrderRecord, now: number): Promise<void> {
  await enqueueJob(
    r,
    deps,
    {
      tenantId: order.tenantId,
      kind: JOB.expireOrder,
      resourceId: order.id,
      priority: PRIORITY.expire,
      runAt: now + deps.settings.unpaidTimeoutMs,
    },
    now,
  );
}

/**
 * An order the policy would not pay at once, asked for by an agent: paid at once after all when a
 * mandate from the person covers it (its budget spent in this transaction); otherwise it waits as
 * decided, saying which term of the agent's mandates it fell outside of.
 */
async function underMandate(
  r: Repositories,
  changes: ChangeSet,
  deps: Deps,
  caller: Caller,
  o: {
    readonly decided: OrderDecision;
    readonly mandated: () => Result<OrderDecision>;
    readonly amount: number;
    readonly currency: string;
    readonly orderId: string;
  },
): Promise<{ readonly decision: OrderDecision; readonly mandate?: MandateRecord }> {
  const decided = o.decided;
  if (decided.kind === 'pay_now') return { decision: decided };
  const withMandate = o.mandated();
  if (!withMandate.ok || withMandate.value.kind !== 'pay_now') return { decision: decided };
  const spent = await spendFromMandate(r, changes, deps, caller, {
    action: 'order_coffee',
    payee: PAYEE.merchant,
    amount: o.amount,
    currency: o.currency,
    resource: o.orderId,
    returnable: true,
  });
  if (spent.kind === 'used') return { decision: withMandate.value, mandate: spent.mandate };
  if (spent.kind === 'outside') return { decision: { ...decided, reason: `${decided.reason}; ${spent.reason}` } };
  return { decision: decided };
}
