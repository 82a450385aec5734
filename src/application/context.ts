import type { Menu } from '../domain/menu.js';
import type { Money } from '../domain/money.js';
import type { Rule } from '../domain/rules.js';
import type { ErrorCode, Result } from '../domain/result.js';
import type { Policy } from '../domain/policy.js';
import type { Clock } from '../ports/clock.js';
import type { IdGenerator } from '../ports/id-generator.js';
import type { Logger } from '../ports/logger.js';
import type { Merchant } from '../ports/merchant.js';
import type { PaymentGateway } from '../ports/payment-gateway.js';
import type { UnitOfWork } from '../ports/repositories.js';
import type { WorkCoordination } from '../ports/work-coordination.js';

/** Settings the use cases need; built from the validated configuration by main.ts. */
export interface EngineSettings {
  /** Name of the gateway payments go through (a key of `gateways`). */
  readonly paymentGateway: string;
  /** Default payment method for agent orders (e.g. "wallet"). */
  readonly paymentMethod: string;
  /** Payment methods accepted on POST /payments. */
  readonly paymentMethods: readonly string[];
  /** Unpaid or unconfirmed orders are cancelled after this long. */
  readonly unpaidTimeoutMs: number;
  /** How long this process holds a job before another worker may take it over. */
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
  /** How often the repair rules look for stuck orders (0 = never on a timer), and how many per rule per sweep. */
  readonly ruleSweepIntervalMs: number;
  readonly ruleSweepLimit: number;
}

/** Everything a use case may touch, injected by the composition root. */
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
  readonly merchant: Merchant;
  /** Read on every decision, so a reloaded policy applies to the next request. */
  readonly policy: () => Policy;
  readonly menu: () => Menu;
  /** Repair rules (built-in and configured) the sweeper applies. */
  readonly rules: readonly Rule[];
  readonly settings: EngineSettings;
  /** This process's identity as a job-lease owner. */
  readonly workerId: string;
  /** Wakes idle workers of other processes and finds the jobs of crashed ones. */
  readonly coordination: WorkCoordination;
}

/** Who asks, on whose behalf, inside which tenant. */
export interface Caller {
  readonly tenantId: string;
  readonly userId: string;
  /** Recorded as the actor of every change, e.g. `user:alice`. */
  readonly actor: string;
  readonly requestId: string | null;
}

/** A use-case outcome that is not an order: a refusal with a stable code. */
export class UseCaseError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'UseCaseError';
  }
}

/** Run a use case body; expected refusals thrown inside transactions come back as values. */
export async function asResult<T>(body: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (e) {
    if (e instanceof UseCaseError) {
      return {
        ok: false,
        error:
          e.details === undefined
            ? { code: e.code, message: e.message }
            : { code: e.code, message: e.message, details: e.details },
      };
    }
    throw e;
  }
}
