import { Counter, type Registry } from 'prom-client';
import { PROBLEM_CATEGORIES } from '../../../domain/statements/reconcile.js';
import type { AuditEntry } from '../../../ports/records.js';

/** What one committed transaction changed, as the metrics count it (see `composition/observe-commits.ts`). */
export interface CommittedChanges {
  /** The audit rows the transaction committed: one per state move, written once, never on a replay. */
  readonly audits: readonly AuditEntry[];
  /** The gateway of each payment the transaction wrote, by payment id. */
  readonly paymentGateways: ReadonlyMap<string, string>;
}

/** Audit actions that end (or start) something a person on call counts, and the outcome label each gives. */
const ORDER_OUTCOMES: Readonly<Record<string, string>> = {
  'order.created': 'created',
  'order.payment_succeeded': 'paid',
  'order.payment_failed': 'payment_failed',
  'order.fulfilled': 'fulfilled',
  'order.fulfilment_failed': 'fulfilment_failed',
  'order.cancel': 'cancelled',
  'order.expire': 'expired',
  'order.refunded': 'refunded',
};
const PAYMENT_OUTCOMES: Readonly<Record<string, string>> = {
  'payment.succeed': 'succeeded',
  'payment.fail': 'failed',
  'payment.cancel': 'cancelled',
};
const REFUND_OUTCOMES: Readonly<Record<string, string>> = {
  'refund.requested': 'requested',
  'refund.succeed': 'succeeded',
  'refund.fail': 'failed',
  'refund.settle_outside': 'settled_outside',
};
const RECHARGE_OUTCOMES: Readonly<Record<string, string>> = {
  'recharge.created': 'created',
  'recharge.succeeded': 'succeeded',
  'recharge.failed': 'failed',
  'recharge.corrected': 'corrected',
};

/** The reconciliation categories that need a person (a clean day has none). */
const UNEXPLAINED: ReadonlySet<string> = new Set(PROBLEM_CATEGORIES);

/**
 * Business outcomes, counted from the audit rows a transaction committed: the kernel writes one
 * per state move in the same commit as the move, so a retried job, a replayed idempotent request
 * or a duplicate callback (which commit nothing new) never count twice, and a transaction the
 * database runs again counts once, after its commit.
 */
export class OutcomeMetrics {
  private readonly orders: Counter<'outcome'>;
  private readonly payments: Counter<'gateway' | 'outcome'>;
  private readonly refunds: Counter<'outcome'>;
  private readonly recharges: Counter<'outcome'>;
  private readonly reconciliations: Counter<'source' | 'outcome'>;
  private readonly unexplained: Counter<'source' | 'category'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.orders = new Counter({
      name: 'autoglm_orders_total',
      help:
        'Order outcomes committed (created, paid, payment_failed, fulfilled, fulfilment_failed, cancelled, ' +
        'expired, refunded).',
      labelNames: ['outcome'],
      registers,
    });
    this.payments = new Counter({
      name: 'autoglm_payments_total',
      help:
        'Payment outcomes committed, by gateway (succeeded, failed, cancelled); the success rate is ' +
        'succeeded / (succeeded + failed).',
      labelNames: ['gateway', 'outcome'],
      registers,
    });
    this.refunds = new Counter({
      name: 'autoglm_refunds_total',
      help: 'Refund outcomes committed (requested, succeeded, failed, settled_outside).',
      labelNames: ['outcome'],
      registers,
    });
    this.recharges = new Counter({
      name: 'autoglm_recharges_total',
      help:
        'Phone recharge outcomes committed (created, succeeded, failed, corrected = a failure the channel ' +
        'later showed succeeded).',
      labelNames: ['outcome'],
      registers,
    });
    this.reconciliations = new Counter({
      name: 'autoglm_reconciliation_runs_total',
      help: 'Reconciliation runs recorded, by statement source and outcome (clean, not_clean).',
      labelNames: ['source', 'outcome'],
      registers,
    });
    this.unexplained = new Counter({
      name: 'autoglm_reconciliation_unexplained_items_total',
      help: 'Items reconciliation runs could not match or explain, by statement source and category.',
      labelNames: ['source', 'category'],
      registers,
    });
  }

  /**
   * Start the series of these gateways and reconciliation sources at zero, so that `rate()` and
   * `increase()` see their first outcome (a series born at 1 shows no increase).
   */
  known(names: { readonly gateways: readonly string[]; readonly reconciliationSources: readonly string[] }): void {
    for (const gateway of names.gateways)
      for (const outcome of ['succeeded', 'failed']) this.payments.inc({ gateway, outcome }, 0);
    for (const source of names.reconciliationSources)
      for (const outcome of ['clean', 'not_clean']) this.reconciliations.inc({ source, outcome }, 0);
  }

  /** Count what a transaction committed. */
  committed(changes: CommittedChanges): void {
    for (const a of changes.audits) {
      const action = a.action;
      const dot = action.indexOf('.');
      switch (action.slice(0, dot)) {
        case 'order':
          count(this.orders, ORDER_OUTCOMES[action]);
          break;
        case 'payment': {
          const outcome = PAYMENT_OUTCOMES[action];
          if (outcome !== undefined)
            this.payments.inc({ gateway: changes.paymentGateways.get(a.resourceId) ?? 'unknown', outcome });
          break;
        }
        case 'refund':
          count(this.refunds, REFUND_OUTCOMES[action]);
          break;
        case 'recharge':
          count(this.recharges, RECHARGE_OUTCOMES[action]);
          break;
        case 'reconciliation':
          if (action === 'reconciliation.run') this.reconciliationRan(a.after);
          break;
        default:
          break;
      }
    }
  }

  private reconciliationRan(after: unknown): void {
    const run = after as { source?: unknown; clean?: unknown; counts?: unknown } | null;
    if (run === null || typeof run.source !== 'string') return;
    const source = run.source;
    this.reconciliations.inc({ source, outcome: run.clean === true ? 'clean' : 'not_clean' });
    const counts = (run.counts ?? {}) as Record<string, unknown>;
    for (const [category, n] of Object.entries(counts))
      if (UNEXPLAINED.has(category) && typeof n === 'number' && n > 0) this.unexplained.inc({ source, category }, n);
  }
}

function count(counter: Counter<'outcome'>, outcome: string | undefined): void {
  if (outcome !== undefined) counter.inc({ outcome });
}
