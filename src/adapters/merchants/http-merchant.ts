import {
  type Merchant,
  type MerchantOrderRequest,
  type MerchantOrderResult,
  MerchantUnknownOutcomeError,
} from '../../ports/merchant.js';
import { GatewayRateLimitedError, GatewayUnknownOutcomeError } from '../../ports/payment-gateway.js';
import { NativeClient } from '../gateways/simulator-http/native-client.js';
import { errorCode, toMerchantResult } from '../gateways/simulator-http/native-mapping.js';

export interface HttpMerchantOptions {
  readonly name?: string;
  /** The merchant's base URL (the standalone simulator's, for the simulated coffee shop). */
  readonly baseUrl: string;
  readonly secret: string;
  readonly timeoutMs: number;
  readonly connections?: number;
  readonly now?: () => number;
}

const PATH = '/native/v1/merchant/orders';

/**
 * A merchant reached over signed HTTP (the simulator's native protocol). The idempotency key
 * travels with every order, so a resubmission after a timeout makes no second drink. A lost
 * answer, a 5xx or a 429 throws MerchantUnknownOutcomeError: the caller queries by key.
 */
export class HttpMerchant implements Merchant {
  readonly name: string;
  private readonly client: NativeClient;

  constructor(options: HttpMerchantOptions) {
    this.name = options.name ?? 'http-merchant';
    this.client = new NativeClient(options);
  }

  async submit(req: MerchantOrderRequest): Promise<MerchantOrderResult> {
    const a = await this.guard(() =>
      this.client.call('POST', PATH, {
        idempotency_key: req.idempotencyKey,
        order_id: req.orderId,
        drink: req.drink,
        size: req.size,
        quantity: req.quantity,
        options: req.options,
      }),
    );
    if (a.status === 200) return toMerchantResult(a);
    const code = errorCode(a);
    if (a.status >= 400 && a.status < 500 && code !== undefined) return { status: 'rejected', reason: code };
    throw new Error(`http merchant: order answered ${a.status} without a protocol error code`);
  }

  async query(idempotencyKey: string): Promise<MerchantOrderResult> {
    const a = await this.guard(() => this.client.call('GET', `${PATH}/${encodeURIComponent(idempotencyKey)}`));
    if (a.status === 200) return toMerchantResult(a);
    if (a.status === 404 && errorCode(a) === 'ORDER_NOT_FOUND') return { status: 'not_found' };
    throw new Error(`http merchant: query answered ${a.status} ${errorCode(a) ?? ''}`);
  }

  /** The merchant port speaks of unknown outcomes only; a rate limit is one we resolve by query too. */
  private async guard<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      if (e instanceof GatewayUnknownOutcomeError || e instanceof GatewayRateLimitedError)
        throw new MerchantUnknownOutcomeError(e.message, { cause: e });
      throw e;
    }
  }

  async shutdown(): Promise<void> {
    await this.client.close();
  }
}
