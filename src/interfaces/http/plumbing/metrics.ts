import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LedgerApi, LedgerHealth } from '../../../application/ledger/ledger-api.js';
import type { MaintenanceApi } from '../../../application/maintenance/maintenance-api.js';
import type { PaymentsApi } from '../../../application/payments/payments-api.js';
import type { ChannelHealth, RechargeApi } from '../../../application/recharge/recharge-api.js';
import type { OperatorId } from '../../../domain/recharge/number-segments.js';
import type { BreakerState } from '../../../domain/routing/circuit-breaker.js';
import type { CallOutcome } from '../../../domain/routing/channel-window.js';
import type { GatewayHealth } from '../../../ports/payment-gateway.js';
import type { RoutingObserver } from '../../../ports/routing-observer.js';
import type { RouteDoc } from './openapi/route-doc.js';
import { OutcomeMetrics } from './outcome-metrics.js';

/** Where the gauges are read from at scrape time. */
export interface MetricsSources {
  readonly payments: Pick<PaymentsApi, 'gateways'>;
  readonly recharge: Pick<RechargeApi, 'channels'>;
  readonly maintenance: Pick<MaintenanceApi, 'queueDepth' | 'totals' | 'oldestDueJobAgeMs'>;
  readonly ledger: Pick<LedgerApi, 'health'>;
}

/**
 * The books' balance is a scan of every posting: read at most this often, however often
 * Prometheus scrapes (an imbalance is a bug to page on, not a latency to chase).
 */
const LEDGER_HEALTH_EVERY_MS = 30_000;

/** Breaker states as one number, the same scale for recharge channels and payment gateways. */
const CHANNEL_BREAKER: Readonly<Record<BreakerState['state'], number>> = { closed: 0, half_open: 1, open: 2 };
const GATEWAY_BREAKER: Readonly<Record<GatewayHealth['breaker'], number>> = {
  closed: 0,
  'half-open': 1,
  open: 2,
  isolated: 2,
};

/**
 * The Prometheus metrics of one server, in its own registry (never prom-client's global one:
 * tests run many servers in one process). Gauges are read at scrape time from the capabilities' own
 * snapshots (router health, gateway breakers, the jobs table), so nothing is kept twice; only
 * the counters, which no snapshot holds, are counted here as the router reports calls.
 */
export class Metrics implements RoutingObserver {
  readonly registry = new Registry();
  /** Orders, payments, refunds, recharges and reconciliations by outcome, counted as they commit. */
  readonly outcomes: OutcomeMetrics;
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly errors: Counter<'method' | 'route' | 'status_class' | 'code'>;
  private readonly duration: Histogram<'method' | 'route' | 'status_class'>;
  private readonly attempts: Counter<'channel' | 'outcome'>;
  private readonly failovers: Counter<'channel' | 'operator'>;
  private sources: MetricsSources | undefined;
  /** The router's health, read once per scrape for every channel gauge. */
  private channels: readonly ChannelHealth[] = [];
  /** The last ledger health read, and when (performance.now()), shared by its three gauges. */

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.outcomes = new OutcomeMetrics(this.registry);
    // Labelled by the route's template (`/api/v1/orders/:id`), never the URL: no ids or phone
    // numbers in a label, and a bounded number of series.
    this.requests = new Counter({
      name: 'autoglm_http_requests_total',
      help: 'HTTP requests answered, by method, route template and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.errors = new Counter({
      name: 'autoglm_http_errors_total',
      help: 'HTTP requests answered with an error (4xx, 5xx), by route template, status class and stable error code.',
      labelNames: ['method', 'route', 'status_class', 'code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'autoglm_http_request_duration_seconds',
      help: 'Time from the request arriving to the answer sent, by route template and status class.',
      labelNames: ['method', 'route', 'status_class'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.attempts = new Counter({
      name: 'autoglm_recharge_attempts_total',
      help: 'Recharge calls routed to a channel that ended, by outcome (success, failure, timeout = unknown outcome).',
      labelNames: ['channel', 'outcome'],
      registers,
    });
    this.failovers = new Counter({
      name: 'autoglm_recharge_failovers_total',
      help: 'Recharges routed to this channel after another channel failed them.',
      labelNames: ['channel', 'operator'],
      registers,
    });
    const perChannel: Array<[string, string, (c: ChannelHealth) => number | null]> = [
      [
        'autoglm_recharge_channel_breaker_state',
        'Circuit breaker of the channel: 0 closed, 1 half-open, 2 open.',
        (c) => CHANNEL_BREAKER[c.breaker.state],
      ],
      ['autoglm_recharge_channel_in_flight', 'Calls in flight to the channel.', (c) => c.inFlight],
      [
        'autoglm_recharge_channel_capacity',
        'Calls in flight the channel is configured to handle well.',
        (c) => c.capacity,
      ],
      ['autoglm_recharge_channel_window_samples', 'Calls in the sliding window.', (c) => c.window.samples],
      [
        'autoglm_recharge_channel_window_success_rate',
        'Share of successful calls in the sliding window (absent with no samples).',
        (c) => c.window.successRate,
      ],
      [
        'autoglm_recharge_channel_window_mean_latency_seconds',
        'Mean latency of the calls in the sliding window.',
        (c) => seconds(c.window.meanLatencyMs),
      ],
      [
        'autoglm_recharge_channel_window_p99_latency_seconds',
        '99th percentile latency of the calls in the sliding window.',
        (c) => seconds(c.window.p99LatencyMs),
      ],
    ];
    const snapshot = (): readonly ChannelHealth[] => this.channels;
    for (const [name, help, value] of perChannel) {
      new Gauge({
        name,
        help,
        labelNames: ['channel'],
        registers,
        collect() {
          this.reset();
          for (const c of snapshot()) {
            const v = value(c);
            if (v !== null) this.set({ channel: c.channel }, v);
          }
        },
      });
    }
    new Gauge({
      name: 'autoglm_recharge_channel_score',
      help: 'Smart-routing score (0-1) of the channel among those serving the operator.',
      labelNames: ['channel', 'operator'],
      registers,
      collect() {
        this.reset();
        for (const c of snapshot()) {
          for (const [operator, score] of Object.entries(c.scores) as Array<[OperatorId, number]>)
            this.set({ channel: c.channel, operator }, score);
        }
      },
    });
    const gateways = (): ReturnType<PaymentsApi['gateways']> => this.sources?.payments.gateways() ?? [];
    new Gauge({
      name: 'autoglm_payment_gateway_breaker_state',
      help: 'Circuit breaker of the payment gateway: 0 closed, 1 half-open, 2 open (or isolated).',
      labelNames: ['gateway'],
      registers,
      collect() {
        this.reset();
        for (const g of gateways())
          if (g.health !== null) this.set({ gateway: g.name }, GATEWAY_BREAKER[g.health.breaker]);
      },
    });
    const depth = atMostAShareOfTime(
      (): Promise<Record<string, number>> => this.sources?.maintenance.queueDepth() ?? Promise.resolve({}),
    );
    const purged = (): ReturnType<MaintenanceApi['totals']> | undefined => this.sources?.maintenance.totals();
    new Counter({
      name: 'autoglm_maintenance_purged_rows_total',
      help:
        'Rows the maintenance sweep removed (expired idempotency keys, nonces, conversations; ' +
        'finished jobs past retention).',
      labelNames: ['table'],
      registers,
      collect() {
        const t = purged();
        if (t === undefined) return;
        this.reset();
        for (const [table, n] of Object.entries(t) as Array<[string, number]>) this.inc({ table }, n);
      },
    });
    new Gauge({
      name: 'autoglm_jobs',
      help: 'Jobs not finished yet, by status (queued, running, failed).',
      labelNames: ['status'],
      registers,
      async collect() {
        const counts = await depth();
        this.reset();
        for (const status of ['queued', 'running', 'failed']) this.set({ status }, counts[status] ?? 0);
      },
    });
    const oldestDue = (): Promise<number> => this.sources?.maintenance.oldestDueJobAgeMs() ?? Promise.resolve(0);
    new Gauge({
      name: 'autoglm_jobs_oldest_due_age_seconds',
      help: 'How long the oldest due job (queued, its run-at passed) has waited; 0 when none is due.',
      registers,
      async collect() {
        this.set((await oldestDue()) / 1000);
      },
    });
    const gatewayCounter = (name: string, help: string, value: (h: GatewayHealth) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['gateway'],
        registers,
        collect() {
          this.reset();
          for (const g of gateways()) if (g.health !== null) this.inc({ gateway: g.name }, value(g.health));
        },
      });
    };
    gatewayCounter(
      'autoglm_payment_gateway_calls_total',
      'Calls made to the payment gateway (create, query, close, refund) since this process started.',
      (h) => h.calls,
    );
    gatewayCounter(
      'autoglm_payment_gateway_call_failures_total',
      'Gateway calls that failed in transport (timeout, connection, 5xx: outcome unknown), never a decline.',
      (h) => h.failures,
    );
    // Read every 30 s at most, and never more than 1 % of the time. On SQLite each read sums only
    // the journals appended since the last (a slice at a time, letting requests run between);
    // PostgreSQL sums every journal in the server, off this process's event loop, which grows with
    // the ledger (~160 ms of a backend at 100,000 postings). A failed read is retried at the next scrape.
    const ledgerHealth = atMostAShareOfTime(
      () => this.sources?.ledger?.health() ?? Promise.reject(new Error('no ledger attached')),
      undefined,
      LEDGER_HEALTH_EVERY_MS,
    );
    const ledger = (): Promise<LedgerHealth> | undefined =>
      this.sources?.ledger === undefined ? undefined : ledgerHealth();
    const ledgerGauges: Array<[string, string, (h: LedgerHealth) => number]> = [
      [
        'autoglm_ledger_unbalanced_journals',
        'Journals whose postings do not sum to zero (must stay 0; summed at most every ' +
          `${LEDGER_HEALTH_EVERY_MS / 1000} s, and at most 1 % of the time as the ledger grows).`,
        (h) => h.unbalancedJournals,
      ],
      [
        'autoglm_ledger_imbalance_fen',
        "Sum of the unbalanced journals' imbalances in minor units (must stay 0).",
        (h) => h.imbalance,
      ],
      ['autoglm_review_flags_open', 'Review flags raised and not resolved yet, all tenants.', (h) => h.openReviewFlags],
    ];
    for (const [name, help, value] of ledgerGauges) {
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const h = ledger();
          if (h !== undefined) this.set(value(await h));
        },
      });
    }
  }

  /** Read the gauges from these capabilities at scrape time. */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** Every metric in the Prometheus text format, the gauges read from the capabilities now. */
  async scrape(): Promise<string> {
    this.channels = this.sources?.recharge.channels() ?? [];
    return this.registry.metrics();
  }

  /**
   * One request answered. `route` is the matched template (undefined: no route matched);
   * `code` the problem's stable code when the answer was an error.
   */
  requestEnded(method: string, route: string | undefined, status: number, seconds: number, code?: string): void {
    const m = HTTP_METHODS.has(method) ? method : 'OTHER';
    const r = route ?? 'unmatched';
    const statusClass = `${Math.floor(status / 100)}xx`;
    this.requests.inc({ method: m, route: r, status: String(status) });
    this.duration.observe({ method: m, route: r, status_class: statusClass }, seconds);
    if (status >= 400)
      this.errors.inc({
        method: m,
        route: r,
        status_class: statusClass,
        code: code ?? (status >= 500 ? 'INTERNAL' : 'NONE'),
      });
  }

  callEnded(channel: string, outcome: CallOutcome): void {
    this.attempts.inc({ channel, outcome });
  }

  failedOver(channel: string, operator: OperatorId): void {
    this.failovers.inc({ channel, operator });
  }
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

const seconds = (ms: number | null): number | null => (ms === null ? null : ms / 1000);

/** `GET /metrics` in the Prometheus text format, beside /healthz and /readyz (no tenancy header). */
/** GET /metrics in the OpenAPI document. */
const METRICS_DOC: RouteDoc = {
  summary: 'Prometheus metrics',
  description: 'Open without a credential from this machine (the scrape); from elsewhere it needs `metrics.read`.',
  tags: ['operations'],
  responses: {
    200: { description: 'the metrics, in the Prometheus text format', content: { 'text/plain': z.string() } },
  },
};

export function registerMetricsRoute(app: FastifyInstance, sources: MetricsSources, metrics: Metrics): void {
  metrics.attach(sources);
  app.get(
    '/metrics',
    { config: { permission: 'metrics.read', publicOnLoopback: true, openapi: METRICS_DOC } },
    async (_req, reply) => {
      const body = await metrics.scrape();
      return reply.header('content-type', metrics.registry.contentType).send(body);
    },
  );
}

/**
 * `autoglm_db_statements_total`: statements sent to the database server (PostgreSQL: one round
 * trip each, BEGIN and COMMIT included), read from the storage's own count at scrape time.
 */
export function countDatabaseStatements(metrics: Metrics, sent: () => number): void {
  new Counter({
    name: 'autoglm_db_statements_total',
    help: 'Statements sent to the database server (one round trip each, BEGIN and COMMIT included).',
    registers: [metrics.registry],
    collect() {
      this.reset();
      this.inc(sent());
    },
  });
}

/**
 * A costly count for a gauge, read again only when the last read is older than a hundred times
 * what it took, when that was 5 ms or more: counting 100,000 queued jobs takes ~11 ms on SQLite,
 * and a scrape every 500 ms then spent 2 % of the service's time counting; now at most 1 %, the
 * value at most ~1 s old. A quicker count (a queue of thousands) is read afresh on every scrape,
 * or every `everyMs` when that is given (a read kept at least that long, however quick).
 */
export function atMostAShareOfTime<T>(
  read: () => Promise<T>,
  clock: () => number = () => performance.now(),
  everyMs = 0,
): () => Promise<T> {
  let last: { value: T; at: number; took: number } | undefined;
  let reading: Promise<T> | undefined;
  return () => {
    const now = clock();
    const keep = Math.max(everyMs, last !== undefined && last.took >= 5 ? last.took * 100 : 0);
    if (last !== undefined && now - last.at < keep) return Promise.resolve(last.value);
    reading ??= read().then(
      (value) => {
        const at = clock();
        last = { value, at, took: at - now };
        reading = undefined;
        return value;
      },
      (error: unknown) => {
        reading = undefined;
        throw error;
      },
    );
    return reading;
  };
}
