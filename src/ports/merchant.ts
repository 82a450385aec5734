/**
 * A merchant that makes and hands over the goods (the built-in simulated coffee shop; a generic
 * signed-HTTP merchant later). Like gateways, a timeout THROWS and the caller queries.
 */
export interface Merchant {
  readonly name: string;
  /** Submit a paid order; `idempotencyKey` makes a resubmission harmless. */
  submit(request: MerchantOrderRequest): Promise<MerchantOrderResult>;
  /** The merchant's view of an order by our idempotency key. */
  query(idempotencyKey: string): Promise<MerchantOrderResult>;
}

export interface MerchantOrderRequest {
  readonly idempotencyKey: string;
  readonly orderId: string;
  readonly drink: string;
  readonly size: string;
  readonly quantity: number;
  readonly options: Readonly<Record<string, unknown>>;
}

export interface MerchantOrderResult {
  readonly status: 'accepted' | 'rejected' | 'not_found';
  readonly merchantOrderId?: string;
  /** Why the merchant refused, e.g. "OUT_OF_STOCK". */
  readonly reason?: string;
}

/** Thrown when the merchant's answer never arrived. */
export class MerchantUnknownOutcomeError extends Error {
  override readonly name = 'MerchantUnknownOutcomeError';
}
