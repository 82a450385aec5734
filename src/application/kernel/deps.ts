import type { Menu } from '../../domain/menu.js';
import type { Money } from '../../domain/money.js';
import type { Policy } from '../../domain/policy.js';
import type { Result } from '../../domain/result.js';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/id-generator.js';
import type { Logger } from '../../ports/logger.js';
import type { MandateSigner } from '../../ports/mandate-signer.js';
import type { Merchant } from '../../ports/merchant.js';
import type { PaymentGateway } from '../../ports/payment-gateway.js';
import type { Tracing } from '../../ports/tracing.js';
import type { UnitOfWork } from '../../ports/repositories.js';
import type { WorkCoordination } from '../../ports/work-coordination.js';
import type { Caller } from './caller.js';

/** Settings the use cases need, built from the validated configuration by the composition root. */
export interface Settings {
  /** Name of the gateway payments go through by default (a key of `gateways`). */
  readonly paymentGateway: string;
  /** Default payment method for orders (e.g. "wallet"). */
  readonly paymentMethod: string;
  /** Payment methods accepted on POST /payments. */
  readonly paymentMethods: readonly string[];
  /** Unpaid or unconfirmed orders are cancelled after this long. */
  readonly unpaidTimeoutMs: number;
  /**
   * How long a payer has to pay a trade that waits for them (a QR code), counted from the
   * confirmation: the repair rules close the trade after it. Shown to the payer as `expires_at`.
   */
  readonly payerWindowMs: number;
  /** How long a job's lease lasts; the runner renews it every third of this while the job runs. */
  readonly leaseMs: number;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Offset of the business day from UTC, in minutes (Asia/Shanghai: 480), for daily limits. */
  readonly dayOffsetMinutes: number;
  /** Idempotency keys are kept at least this long. */
  readonly idempotencyTtlMs: number;
  /** How long a request holds an idempotency key before a retry may take it over. */
  readonly idempotencyLockMs: number;
  /** A callback whose timestamp is further than this from now (either way) is refused. */
  readonly callbackWindowMs: number;
}

/** Everything a use case may touch: ports and settings, injected by the composition root. */
export interface Deps {
  readonly uow: UnitOfWork;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Uniform [0,1) numbers for retry jitter; seeded in tests. */
  readonly random: () => number;
  readonly logger: Logger;
  readonly gateways: ReadonlyMap<string, PaymentGateway>;
  /** The gateway a new payment of this amount and method goes through (routing rules + health). */
  readonly routeGateway: (request: { readonly amount: Money; readonly method: string }) => Result<string>;
  /** Signs a mandate's terms when granted, verifies them on every use. */
  readonly mandateSigner: MandateSigner;
  /** An agent asked for a money action outside its mandates: count it against its source (abuse). */
  readonly onMandateViolation: (caller: Caller, code: string) => Promise<void>;
  readonly merchant: Merchant;
  /** Read on every decision, so a reloaded policy applies to the next request. */
  readonly policy: () => Policy;
  readonly menu: () => Menu;
  readonly settings: Settings;
  /** This process's identity as a job-lease owner. */
  readonly workerId: string;
  /** Wakes idle workers of other processes and finds the jobs of crashed ones. */
  readonly coordination: WorkCoordination;
  /** Job runs continue the trace that enqueued them; without it they run untraced. */
  readonly tracing?: Tracing;
}
