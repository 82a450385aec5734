/** How a recharge ended, told to the person (the documents' "notify the user"). */
export interface RechargeNotice {
  readonly tenantId: string;
  readonly userId: string;
  readonly rechargeId: string;
  /** The number that was topped up: the SMS goes to it. Adapters log it masked only. */
  readonly phone: string;
  readonly status: 'SUCCEEDED' | 'FAILED';
  /** Minor units (fen). */
  readonly amount: number;
  readonly currency: string;
  readonly reason: string | null;
  readonly at: number;
}

/** What a notifier did: sent (with the provider's id, when it gives one). Failures throw (the job retries). */
export interface NotifyResult {
  readonly channel: string;
  readonly reference: string | null;
}

/**
 * Tells a person how something ended, through one channel (an SMS provider, a webhook). Called
 * by a durable job outside any transaction; it may be called again for the same notice after a
 * crash (at least once), so adapters pass the recharge id along where the provider takes one.
 */
export interface Notifier {
  readonly channel: string;
  notifyRecharge(notice: RechargeNotice): Promise<NotifyResult>;
}
