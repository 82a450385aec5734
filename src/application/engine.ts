import type { Menu, OrderLine } from '../domain/menu.js';
import { err, ok, type DomainError, type Result } from '../domain/result.js';
import { isCurrency, parseAmount } from '../domain/money.js';
import { decideOrder } from '../domain/policy.js';
import { cancelOrder } from './cancel-order.js';
import { confirmOrder } from './confirm-order.js';
import type { Caller, Deps } from './context.js';
import { expireOrder } from './expire-order.js';
import { fulfilOrder } from './fulfil-order.js';
import { beginIdempotent, finishIdempotent, type IdempotencyStart } from './idempotent-request.js';
import { JOB } from './job-kinds.js';
import { type OrderView, toOrderView } from './order-view.js';
import { payOrder } from './pay-order.js';
import { type IdempotencyRef, placeOrder } from './place-order.js';
import { getOrder, listOrders, type ListOrdersQuery, type OrderPage } from './query-orders.js';
import { executeRefund } from './execute-refund.js';
import { resolveLateCapture } from './resolve-late-capture.js';
import { JobRunner, type KnownState, type RunnerOptions } from './run-jobs.js';
import type { GatewayHealth, RawNotification } from '../ports/payment-gateway.js';
import type { AuditRecord, JobRecord, LedgerBalance, ReviewFlag } from '../ports/records.js';
import { type CallbackResult, handleCallback } from './handle-callback.js';
import { requestRefund } from './request-refund.js';
import { RULE_JOB, ruleRunner, sweepRules } from './repair-rules.js';
import { type RefundView, toRefundView } from './refund-view.js';
import { executeRecharge, type RechargeRuntime } from './execute-recharge.js';
import { handleRechargeCallback, type RechargeCallbackResult } from './handle-recharge-callback.js';
import { RECHARGE_RULE_JOB, rechargeRuleRunner, sweepRechargeRules } from './recharge-rules.js';
import type { RechargeCallbackRequest } from '../ports/recharge-channel.js';
import { type RechargeView, toRechargeView } from './recharge-view.js';
import { type RechargeRequest, requestRecharge } from './request-recharge.js';
import { refundRechargePayment } from './refund-recharge-payment.js';
import {
  type BatchFormat,
  type BatchLine,
  batchOf,
  batchResultLines,
  type BatchView,
  expandRechargeBatch,
  receiveRechargeBatch,
} from './request-recharge-batch.js';
import { payTopUp, requestTopUp, topUpOf, type TopUpView } from './top-up-wallet.js';
import type { ChannelHealth } from './channel-router.js';

/** How an order request ended, for transports to map (HTTP: 201 / 202 / 402). */
export type OrderOutcome =
  | { readonly kind: 'completed'; readonly order: OrderView }
  | { readonly kind: 'accepted'; readonly order: OrderView; readonly next: string }
  | { readonly kind: 'payment_failed'; readonly order: OrderView };

/** How a recharge request stands when the answer is due (HTTP: 201 / 202 / 422). */
export type RechargeOutcome =
  | { readonly kind: 'succeeded'; readonly recharge: RechargeView }
  | { readonly kind: 'in_progress'; readonly recharge: RechargeView; readonly next: string }
  | { readonly kind: 'failed'; readonly recharge: RechargeView };

export interface PaymentRequest {
  readonly order_id: unknown;
  readonly amount: unknown;
  readonly currency: unknown;
  readonly payment_method: unknown;
}

/**
 * The application's front door: every transport (HTTP, CLI, MCP) calls these methods and only
 * these. It owns the job runner so a request can carry its own order through payment and
 * fulfilment immediately, while crash recovery and retries go through the same durable jobs.
 */
export class Engine {
  readonly runner: JobRunner;

  constructor(
    readonly deps: Deps,
    runnerOptions: RunnerOptions & { readonly waitForCompletionMs: number },
    /** Phone recharge; absent = the recharge endpoints answer NO_CHANNEL_AVAILABLE. */
    readonly recharge?: RechargeRuntime,
  ) {
    this.waitMs = runnerOptions.waitForCompletionMs;
    this.runner = new JobRunner(
      deps,
      {
        [JOB.payOrder]: payOrder,
        [JOB.fulfilOrder]: fulfilOrder,
        [JOB.executeRefund]: executeRefund,
        [JOB.resolveLateCapture]: resolveLateCapture,
        [RULE_JOB]: ruleRunner(deps.rules),
        [JOB.expireOrder]: expireOrder,
        [JOB.payTopUp]: payTopUp,
        [JOB.refundRechargePayment]: refundRechargePayment,
        ...(recharge === undefined
          ? {}
          : {
              [JOB.executeRecharge]: (job: JobRecord, d: Deps) => executeRecharge(job, d, recharge),
              [JOB.expandRechargeBatch]: (job: JobRecord, d: Deps) => expandRechargeBatch(job, d, recharge),
              [RECHARGE_RULE_JOB]: rechargeRuleRunner(recharge.rules ?? [], recharge),
            }),
      },
      runnerOptions,
    );
  }

  private readonly waitMs: number;

  /** Run a job this process holds, waiting for it at most the configured time. */
  private async runAwhile(job: JobRecord): Promise<void> {
    const run = this.runner.runLeased({ job });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      run,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.waitMs))),
    ]);
    if (timer !== undefined) clearTimeout(timer);
  }

  /** The caller's wallet balance (what recharges are paid from), in fen. */
  async walletBalance(caller: Caller): Promise<Result<{ readonly balance: number; readonly currency: 'CNY' }>> {
    const w = await this.deps.uow.read.wallets.get(caller.tenantId, caller.userId);
    return ok({ balance: w?.balance ?? 0, currency: 'CNY' });
  }

  /**
   * Put money on the caller's wallet through the payment gateways (routing as for orders). The
   * charge runs as a durable job under one out_trade_no: exactly once, even across a crash.
   */
  async topUpWallet(caller: Caller, amount: unknown, idem?: IdempotencyRef): Promise<Result<TopUpView>> {
    const requested = await requestTopUp(this.deps, caller, amount, idem);
    if (!requested.ok) return requested;
    await this.runAwhile(requested.value.job);
    return this.topUpOf(caller.tenantId, requested.value.topUp.id);
  }

  topUpOf(tenantId: string, id: string): Promise<Result<TopUpView>> {
    return topUpOf(this.deps, tenantId, id);
  }

  /**
   * Recharge a phone from the caller's wallet: `{ phone, amount }` (amount in fen, a face value).
   * The amount is reserved at once; the recharge runs as a durable job and the answer says where
   * it stands after the configured wait (still running = `in_progress`; poll `rechargeOf`).
   */
  async rechargePhone(caller: Caller, req: RechargeRequest, idem?: IdempotencyRef): Promise<Result<RechargeOutcome>> {
    if (this.recharge === undefined) return err('NO_CHANNEL_AVAILABLE', 'phone recharge is not configured');
    const requested = await requestRecharge(this.deps, this.recharge, caller, req, idem);
    if (!requested.ok) return requested;
    await this.runAwhile(requested.value.job);
    return this.rechargeOutcome(caller.tenantId, requested.value.recharge.id);
  }

  async rechargeOf(tenantId: string, id: string): Promise<Result<RechargeView>> {
    const r = await this.deps.uow.read.recharges.get(tenantId, id);
    return r === undefined ? err('RECHARGE_NOT_FOUND', `no recharge ${id}`) : ok(toRechargeView(r));
  }

  /** Where a recharge stands, as the outcome a request reports (also used after crash recovery). */
  async rechargeOutcome(tenantId: string, id: string): Promise<Result<RechargeOutcome>> {
    const r = await this.rechargeOf(tenantId, id);
    if (!r.ok) return r;
    const v = r.value;
    if (v.status === 'SUCCEEDED') return ok({ kind: 'succeeded', recharge: v });
    if (v.status === 'FAILED') return ok({ kind: 'failed', recharge: v });
    return ok({ kind: 'in_progress', recharge: v, next: `in progress: poll GET /api/v1/recharges/${v.id}` });
  }

  /**
   * Many recharges at once from CSV (`phone,amount`) or JSON lines, read as they stream in: bad
   * rows are reported with their line numbers; once the whole file is in, the good ones become
   * recharges a chunk at a time, each queued for the worker (bounded concurrency).
   */
  async rechargeBatch(
    caller: Caller,
    input: { readonly lines: AsyncIterable<BatchLine>; readonly format: BatchFormat },
    idem?: IdempotencyRef,
  ): Promise<Result<BatchView>> {
    if (this.recharge === undefined) return err('NO_CHANNEL_AVAILABLE', 'phone recharge is not configured');
    const r = await receiveRechargeBatch(this.deps, this.recharge, caller, input, idem);
    if (!r.ok) return r;
    if (r.value.job !== undefined) void this.runner.runLeased({ job: r.value.job });
    return this.batchOf(caller.tenantId, r.value.batch.id);
  }

  batchOf(tenantId: string, id: string): Promise<Result<BatchView>> {
    return batchOf(this.deps, tenantId, id);
  }

  /** The batch's result file as CSV lines (header first), read a page at a time; empty if there is no such batch. */
  batchResults(tenantId: string, id: string): AsyncGenerator<string> {
    return batchResultLines(this.deps, tenantId, id);
  }

  /** A recharge channel's signed result notification (verified, de-duplicated, never backwards). */
  async handleRechargeCallback(channel: string, request: RechargeCallbackRequest): Promise<RechargeCallbackResult> {
    const r = await handleRechargeCallback(this.deps, this.recharge, channel, request);
    // A failure that left the recharge awaiting failover queued its job again.
    if (r.accepted && r.effect === 'applied') this.runner.wake();
    return r;
  }

  /** Recharge channels as routing sees them: score, window stats, breaker, load. */
  rechargeChannels(): ChannelHealth[] {
    return this.recharge?.router.health() ?? [];
  }

  async placeOrder(caller: Caller, line: OrderLine, idem?: IdempotencyRef): Promise<Result<OrderOutcome>> {
    const placed = await placeOrder(this.deps, caller, line, idem);
    if (!placed.ok) return placed;
    return ok(await this.settle(caller.tenantId, placed.value.order.id, placed.value.payJob, placed.value));
  }

  async confirmOrder(
    caller: Caller,
    orderId: string,
    idem?: IdempotencyRef,
    paymentMethod?: string,
  ): Promise<Result<OrderOutcome>> {
    const confirmed = await confirmOrder(
      this.deps,
      caller,
      orderId,
      paymentMethod === undefined ? {} : { paymentMethod },
      idem,
    );
    if (!confirmed.ok) return confirmed;
    return ok(await this.settle(caller.tenantId, orderId, confirmed.value.payJob, confirmed.value));
  }

  /**
   * `submit_payment` for an existing order. Every field is validated and every problem reported
   * at once; the amount and currency must match the order. Whether it pays now is the policy's
   * call: if submit_payment is not a trusted action the order keeps waiting for the person.
   */
  async submitPayment(
    caller: Caller,
    req: PaymentRequest,
    idem?: IdempotencyRef,
  ): Promise<Result<OrderOutcome, DomainError & { readonly errors?: readonly DomainError[] }>> {
    const problems: DomainError[] = [];
    const amount = parseAmount(req.amount);
    if (!amount.ok) problems.push({ ...amount.error, details: { ...amount.error.details, field: 'amount' } });
    if (!isCurrency(req.currency)) {
      problems.push({
        code: 'INVALID_CURRENCY',
        message: 'currency must be one of CNY, HKD, USD, EUR, JPY',
        details: { field: 'currency' },
      });
    }
    const methods = this.deps.settings.paymentMethods;
    if (typeof req.payment_method !== 'string' || !methods.includes(req.payment_method)) {
      problems.push({
        code: 'INVALID_PAYMENT_METHOD',
        message: `payment_method must be one of ${methods.join(', ')}`,
        details: { field: 'payment_method', allowed: methods },
      });
    }
    if (typeof req.order_id !== 'string' || req.order_id.length === 0) {
      problems.push({ code: 'VALIDATION_FAILED', message: 'order_id is required', details: { field: 'order_id' } });
    }
    const first = problems[0];
    if (first !== undefined) return { ok: false, error: { ...first, errors: problems } };
    const orderId = req.order_id as string;
    const found = await getOrder(this.deps, caller.tenantId, orderId);
    if (!found.ok) return found;
    const { order } = found.value;
    if (order.amount !== req.amount || order.currency !== req.currency) {
      return err(
        'AMOUNT_MISMATCH',
        `the order is ${order.amount} ${order.currency}; the payment must match it exactly`,
        {
          order_amount: order.amount,
          order_currency: order.currency,
        },
      );
    }
    // An agent's submit_payment pays a waiting order only if the policy, asked again now, would
    // pay it at once; otherwise the order keeps waiting for the person (POST …/confirm).
    const awaiting = order.status === 'AWAITING_CONFIRMATION' || order.status === 'AWAITING_PAYMENT';
    const decision = decideOrder(this.deps.policy(), {
      total: { amount: order.amount, currency: order.currency },
      spentToday: 0,
    });
    if (awaiting && !(decision.ok && decision.value.kind === 'pay_now')) {
      return ok({
        kind: 'accepted',
        order: toOrderView(order, found.value.payment),
        next: `the policy requires the person's confirmation: POST /api/v1/orders/${order.id}/confirm`,
      });
    }
    // Payable now, or past waiting: confirm pays a waiting order (re-checking limits) and reports any other as it stands.
    return this.confirmOrder(caller, orderId, idem, req.payment_method as string);
  }

  cancelOrder(caller: Caller, orderId: string, reason: string): Promise<Result<OrderView>> {
    return cancelOrder(this.deps, caller, orderId, reason).then(async (r) => {
      if (!r.ok) return r;
      return ok(toOrderView(r.value, await this.deps.uow.read.payments.get(r.value.tenantId, r.value.paymentId)));
    });
  }

  /**
   * Give money back for an order: all that is left, or `amount`. The refund is sent at once by
   * this process (its job is durable, so a crash resumes it); the answer says where it stands.
   */
  async requestRefund(
    caller: Caller,
    orderId: string,
    request: { readonly amount?: number; readonly reason?: string },
    idem?: IdempotencyRef,
  ): Promise<Result<RefundView>> {
    const requested = await requestRefund(this.deps, caller, orderId, request, idem);
    if (!requested.ok) return requested;
    const run = this.runner.runLeased({ job: requested.value.job });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      run,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.waitMs))),
    ]);
    if (timer !== undefined) clearTimeout(timer);
    return this.refundOf(caller.tenantId, requested.value.refund.id);
  }

  async refundOf(tenantId: string, refundId: string): Promise<Result<RefundView>> {
    const r = await this.deps.uow.read.refunds.get(tenantId, refundId);
    return r === undefined ? err('REFUND_NOT_FOUND', `no refund ${refundId}`) : ok(toRefundView(r));
  }

  async listRefunds(tenantId: string, orderId: string): Promise<Result<RefundView[]>> {
    const order = await this.deps.uow.read.orders.get(tenantId, orderId);
    if (order === undefined) return err('ORDER_NOT_FOUND', `no order ${orderId}`);
    return ok((await this.deps.uow.read.refunds.listByPayment(tenantId, order.paymentId)).map(toRefundView));
  }

  /** A gateway's notification, as received; the worker is woken when it moved something. */
  async handleCallback(gateway: string, raw: RawNotification): Promise<CallbackResult> {
    const r = await handleCallback(this.deps, gateway, raw);
    if (r.accepted && r.effect !== 'duplicate' && r.effect !== 'no_change') this.runner.wake();
    return r;
  }

  /** Jobs not finished yet, per status (queue depth); a cheap indexed count. */
  jobQueueDepth(): Promise<Record<string, number>> {
    return this.deps.uow.read.jobs.countByStatus(['queued', 'running', 'failed']);
  }

  /** Each configured gateway with its methods and health (breaker state, calls, failures). */
  gateways(): Array<{
    readonly name: string;
    readonly methods: readonly string[];
    readonly health: GatewayHealth | null;
  }> {
    return [...this.deps.gateways.entries()].map(([name, g]) => ({
      name,
      methods: g.methods,
      health: g.health?.() ?? null,
    }));
  }

  ledgerBalances(tenantId: string): Promise<LedgerBalance[]> {
    return this.deps.uow.read.ledger.balances(tenantId);
  }

  unbalancedJournals(tenantId: string): Promise<Array<{ journalId: string; sum: number }>> {
    return this.deps.uow.read.ledger.unbalancedJournals(tenantId);
  }

  reviewFlags(tenantId: string, open: boolean, limit: number): Promise<ReviewFlag[]> {
    return this.deps.uow.read.flags.list(tenantId, { open, limit });
  }

  async getOrder(tenantId: string, orderId: string): Promise<Result<OrderView>> {
    const r = await getOrder(this.deps, tenantId, orderId);
    return r.ok ? ok(toOrderView(r.value.order, r.value.payment)) : r;
  }

  listOrders(q: ListOrdersQuery): Promise<OrderPage> {
    return listOrders(this.deps, q);
  }

  /** The menu as configured: drinks with their names and prices per size (minor units). */
  menu(): Menu {
    return this.deps.menu();
  }

  auditTrail(tenantId: string, resourceType: string, resourceId: string): Promise<AuditRecord[]> {
    return this.deps.uow.read.audit.list(tenantId, resourceType, resourceId);
  }

  beginIdempotent(tenantId: string, scope: string, key: string, body: unknown): Promise<IdempotencyStart> {
    return beginIdempotent(this.deps, tenantId, scope, key, body);
  }

  finishIdempotent(
    tenantId: string,
    ref: IdempotencyRef,
    response: { status: number; body: string; headers: Readonly<Record<string, string>>; store: boolean },
  ): Promise<void> {
    return finishIdempotent(this.deps, tenantId, ref, response);
  }

  /** Current outcome of an order without running anything (used after crash recovery). */
  async outcomeOf(tenantId: string, orderId: string): Promise<Result<OrderOutcome>> {
    const r = await getOrder(this.deps, tenantId, orderId);
    if (!r.ok) return r;
    return ok(this.classify(toOrderView(r.value.order, r.value.payment)));
  }

  private sweeper: NodeJS.Timeout | undefined;

  start(): void {
    this.runner.start();
    const every = this.deps.settings.ruleSweepIntervalMs;
    if (every > 0 && this.sweeper === undefined && this.deps.rules.length + (this.recharge?.rules?.length ?? 0) > 0) {
      this.sweeper = setInterval(() => {
        this.sweepRules().catch((e: unknown) => this.deps.logger.error({ err: e }, 'repair-rule sweep failed'));
      }, every);
      this.sweeper.unref?.();
    }
  }

  stop(deadlineMs?: number): Promise<void> {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    return this.runner.stop(deadlineMs);
  }

  /** Look for stuck orders and recharges now and queue the repairs (the timer calls this; tests call it directly). */
  async sweepRules(): Promise<number> {
    const limit = this.deps.settings.ruleSweepLimit;
    const queued =
      (await sweepRules(this.deps, this.deps.rules, limit)) +
      (this.recharge === undefined ? 0 : await sweepRechargeRules(this.deps, this.recharge.rules ?? [], limit));
    if (queued > 0) this.runner.wake();
    return queued;
  }

  /** Run the order's pay job (held by this process) and wait up to the configured time. */
  private async settle(
    tenantId: string,
    orderId: string,
    payJob: JobRecord | null,
    known: KnownState,
  ): Promise<OrderOutcome> {
    if (payJob !== null) {
      const run = this.runner.runLeased({ job: payJob, known });
      let timer: NodeJS.Timeout | undefined;
      const state = await Promise.race([
        run,
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.waitMs))),
      ]);
      if (timer !== undefined) clearTimeout(timer);
      // The chain hands back the order as its last job committed it: no need to read it again.
      if (state !== undefined && state.order.id === orderId)
        return this.classify(toOrderView(state.order, state.payment));
    } else if (known.order.id === orderId) {
      return this.classify(toOrderView(known.order, known.payment));
    }
    const r = await getOrder(this.deps, tenantId, orderId);
    if (!r.ok) throw new Error(`order ${orderId} vanished`);
    return this.classify(toOrderView(r.value.order, r.value.payment));
  }

  private classify(view: OrderView): OrderOutcome {
    switch (view.status) {
      case 'COMPLETED':
        return { kind: 'completed', order: view };
      case 'FAILED':
        return { kind: 'payment_failed', order: view };
      case 'AWAITING_CONFIRMATION':
        return { kind: 'accepted', order: view, next: `confirm with POST /api/v1/orders/${view.id}/confirm` };
      case 'AWAITING_PAYMENT':
        return {
          kind: 'accepted',
          order: view,
          next: `placed, awaiting payment (已下单，待付款): confirm with POST /api/v1/orders/${view.id}/confirm`,
        };
      default:
        return { kind: 'accepted', order: view, next: `in progress: poll GET /api/v1/orders/${view.id}` };
    }
  }
}
