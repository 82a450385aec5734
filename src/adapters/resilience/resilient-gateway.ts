import type { StatementFile } from '../../domain/statements/statement-line.js';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead,
  circuitBreaker,
  CircuitState,
  decorrelatedJitterGenerator,
  ExponentialBackoff,
  handleWhen,
  type IBackoff,
  type IBackoffFactory,
  type IPolicy,
  type IRetryBackoffContext,
  IsolatedCircuitError,
  retry,
  SamplingBreaker,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import {
  type CreatePaymentRequest,
  type GatewayPaymentResult,
  GatewayRateLimitedError,
  type GatewayRefundResult,
  GatewayUnavailableError,
  GatewayUnknownOutcomeError,
  type GatewayHealth,
  type NotificationAck,
  type NotificationVerdict,
  type PaymentGateway,
  type RawNotification,
  type RefundRequest,
} from '../../ports/payment-gateway.js';

/** Per-gateway resilience settings (config `gateways.<name>.resilience`). */
export interface ResilienceSettings {
  /** Give up waiting for one call after this long: the outcome is unknown. */
  readonly timeoutMs: number;
  /** Attempts for calls that are safe to repeat (queries, close; any call refused with 429). */
  readonly maxAttempts: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** A 429's Retry-After longer than this is not waited for in-line; the job retries later. */
  readonly maxRetryAfterMs: number;
  /** The breaker opens when this share of calls in the window failed… */
  readonly breakerThreshold: number;
  /** …over a window this long… */
  readonly breakerWindowMs: number;
  /** …with at least this many calls per second in it (so two failures at night do not open it). */
  readonly breakerMinimumRps: number;
  /** Open for this long, then one probe (half-open) decides. */
  readonly halfOpenAfterMs: number;
  /** Calls in flight at once, and queued behind them. */
  readonly bulkheadLimit: number;
  readonly bulkheadQueue: number;
}

export const DEFAULT_RESILIENCE: ResilienceSettings = {
  timeoutMs: 10_000,
  maxAttempts: 3,
  backoffInitialMs: 100,
  backoffMaxMs: 2_000,
  maxRetryAfterMs: 5_000,
  breakerThreshold: 0.5,
  breakerWindowMs: 30_000,
  breakerMinimumRps: 1,
  halfOpenAfterMs: 30_000,
  bulkheadLimit: 64,
  bulkheadQueue: 256,
};

export type BreakerState = GatewayHealth['breaker'];

/**
 * Decorrelated-jitter exponential backoff that gives way to the gateway's own Retry-After on a
 * 429 (capped: a long wait is the job's business, not a request's).
 */
class RetryAfterBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(
    private readonly inner: IBackoffFactory<unknown>,
    private readonly capMs: number,
  ) {}

  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const base = this.inner.next(context);
    const r = context.result;
    const hinted = 'error' in r && r.error instanceof GatewayRateLimitedError ? r.error.retryAfterMs : undefined;
    const duration = hinted === undefined ? base.duration : Math.min(hinted, this.capMs);
    return { duration, next: (c) => new RetryAfterBackoff(base, this.capMs).next(c) };
  }
}

const isUnknown = (e: unknown): boolean => e instanceof GatewayUnknownOutcomeError || e instanceof TaskCancelledError;

/**
 * A gateway behind cockatiel policies: a timeout on every call, a circuit breaker that counts
 * transport failures (unknown outcomes — never a definite decline, which is a returned value),
 * a bulkhead, and retries with decorrelated jitter ONLY where repeating cannot move money twice:
 * reads and close on any transport failure, and any call the gateway refused with 429 (nothing
 * was done). A create or refund whose outcome is unknown is NOT retried here: it surfaces as
 * GatewayUnknownOutcomeError and the job resolves it by querying.
 */
export class ResilientGateway implements PaymentGateway {
  readonly name: string;
  readonly methods: readonly string[];
  private readonly breaker;
  private readonly bulk;
  private readonly safe: IPolicy;
  private readonly effectful: IPolicy;
  private readonly bulkheadLimit: number;
  private readonly halfOpenAfterMs: number;
  private openedAt = 0;
  private calls = 0;
  private failures = 0;
  /** The inner gateway's statement, read through the same retries and breaker as a query; absent when it has none. */
  readonly statement?: (date: string) => Promise<StatementFile>;

  constructor(
    private readonly inner: PaymentGateway,
    settings: Partial<ResilienceSettings> = {},
    /** The configured name, when it differs from the adapter's own (two names, one simulator). */
    name?: string,
  ) {
    const s = { ...DEFAULT_RESILIENCE, ...settings };
    this.name = name ?? inner.name;
    this.methods = inner.methods;
    const statement = inner.statement?.bind(inner);
    if (statement !== undefined) this.statement = (date) => this.run(this.safe, () => statement(date));
    this.breaker = circuitBreaker(handleWhen(isUnknown), {
      halfOpenAfter: s.halfOpenAfterMs,
      breaker: new SamplingBreaker({
        threshold: s.breakerThreshold,
        duration: s.breakerWindowMs,
        minimumRps: s.breakerMinimumRps,
      }),
    });
    // cockatiel moves an open breaker to half-open on the first call after the wait; health
    // reports that moment so routing sends the probe instead of avoiding the gateway forever.
    this.halfOpenAfterMs = s.halfOpenAfterMs;
    this.breaker.onBreak(() => (this.openedAt = Date.now()));
    this.bulkheadLimit = s.bulkheadLimit;
    this.bulk = bulkhead(s.bulkheadLimit, s.bulkheadQueue);
    const backoff = new RetryAfterBackoff(
      new ExponentialBackoff({
        generator: decorrelatedJitterGenerator,
        initialDelay: s.backoffInitialMs,
        maxDelay: s.backoffMaxMs,
      }),
      s.maxRetryAfterMs,
    );
    // Calls do not read the signal, so nothing needs aborting when one returns; cockatiel's
    // default abort on return built an AbortError (a DOMException with its stack) per call: 1 % of
    // an auto-paid order's CPU profile.
    const perCall = timeout(s.timeoutMs, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });
    const retrySafe = retry(
      handleWhen((e) => isUnknown(e) || e instanceof GatewayRateLimitedError),
      { maxAttempts: s.maxAttempts - 1, backoff },
    );
    const retryRefused = retry(
      handleWhen((e) => e instanceof GatewayRateLimitedError),
      { maxAttempts: s.maxAttempts - 1, backoff },
    );
    // Outermost first: retries wrap the breaker (an open breaker fails each attempt at once),
    // which wraps the bulkhead and the per-call timeout.
    this.safe = wrap(retrySafe, this.breaker, this.bulk, perCall);
    this.effectful = wrap(retryRefused, this.breaker, this.bulk, perCall);
  }

  health(): GatewayHealth {
    const state = stateName(this.breaker.state);
    const breaker = state === 'open' && Date.now() - this.openedAt >= this.halfOpenAfterMs ? 'half-open' : state;
    return {
      name: this.name,
      breaker,
      available: breaker === 'closed' || breaker === 'half-open',
      inFlight: this.bulkheadLimit - this.bulk.executionSlots,
      calls: this.calls,
      failures: this.failures,
    };
  }

  create(request: CreatePaymentRequest): Promise<GatewayPaymentResult> {
    return this.run(this.effectful, () => this.inner.create(request));
  }

  query(outTradeNo: string): Promise<GatewayPaymentResult> {
    return this.run(this.safe, () => this.inner.query(outTradeNo));
  }

  refund(request: RefundRequest): Promise<GatewayRefundResult> {
    return this.run(this.effectful, () => this.inner.refund(request));
  }

  queryRefund(outTradeNo: string, outRefundNo: string): Promise<GatewayRefundResult> {
    return this.run(this.safe, () => this.inner.queryRefund(outTradeNo, outRefundNo));
  }

  close(outTradeNo: string): Promise<GatewayPaymentResult> {
    return this.run(this.safe, () => this.inner.close(outTradeNo));
  }

  verifyNotification(input: RawNotification): Promise<NotificationVerdict> {
    return this.inner.verifyNotification(input);
  }

  acknowledge(accepted: boolean): NotificationAck {
    return this.inner.acknowledge(accepted);
  }

  private async run<T>(policy: IPolicy, call: () => Promise<T>): Promise<T> {
    this.calls += 1;
    try {
      // A signal per call: without one, cockatiel hangs every call's timeout listener on one
      // shared never-aborted signal, which Node reports as a leak under concurrency.
      return await policy.execute(() => call(), new AbortController().signal);
    } catch (e) {
      this.failures += 1;
      if (e instanceof BrokenCircuitError || e instanceof IsolatedCircuitError)
        throw new GatewayUnavailableError(`${this.name}: circuit open, nothing was sent`);
      if (e instanceof BulkheadRejectedError)
        throw new GatewayUnavailableError(`${this.name}: too many calls in flight, nothing was sent`);
      if (e instanceof TaskCancelledError)
        throw new GatewayUnknownOutcomeError(`${this.name}: no answer within the timeout`);
      throw e;
    }
  }
}

function stateName(s: CircuitState): BreakerState {
  switch (s) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.Open:
      return 'open';
    case CircuitState.HalfOpen:
      return 'half-open';
    case CircuitState.Isolated:
      return 'isolated';
    default: {
      const never: never = s;
      throw new Error(`unknown breaker state ${String(never)}`);
    }
  }
}
