import { maskPhone } from '../../domain/mask.js';
import type { RechargeStatus } from '../../domain/recharge/recharge.js';
import type { RechargeRecord, TopUpRecord } from '../../ports/records.js';
import { topUpPayerAction } from '../wallet/wallet-api.js';

/** What the API shows of a recharge. The number is masked: answers end up in logs and transcripts. */
export interface RechargeView {
  readonly id: string;
  readonly status: RechargeStatus;
  /** Whose recharge it is. */
  readonly user_id: string;
  /** The batch it came in; null for a single recharge. */
  readonly batch_id: string | null;
  readonly phone: string;
  readonly operator: string;
  readonly amount: number;
  readonly currency: string;
  /** The channel of the current (or last) attempt. */
  readonly channel: string | null;
  readonly attempt: number;
  readonly attempts: ReadonlyArray<{
    readonly channel: string;
    readonly order_id: string;
    readonly channel_order_id: string | null;
    readonly failure: string | null;
  }>;
  readonly failure_reason: string | null;
  /** `wallet`, or `direct`: a payment of its own (see `top_up_id`), refunded if the recharge fails. */
  readonly paid_by: 'wallet' | 'direct';
  readonly top_up_id: string | null;
  /** Paid directly and waiting for its payer: what they scan (QR content); null otherwise. */
  readonly qr_code: string | null;
  /** While it waits: a page the payer can open to pay, when the gateway gives one. */
  readonly pay_url: string | null;
  /** Until when the payer can pay; after it the trade is closed and the recharge fails. */
  readonly expires_at: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

/** `payment`: the top-up that pays a directly paid recharge, for what its payer needs. */
export function toRechargeView(r: RechargeRecord, payment?: TopUpRecord): RechargeView {
  const s = r.state;
  return {
    id: r.id,
    status: s.status,
    user_id: r.userId,
    batch_id: r.batchId,
    phone: maskPhone(r.phone),
    operator: r.operator,
    amount: r.amount,
    currency: r.currency,
    channel: s.attempts.at(-1)?.channel ?? null,
    attempt: s.attempts.length,
    attempts: s.attempts.map((a) => ({
      channel: a.channel,
      order_id: a.key,
      channel_order_id: a.channelOrderId ?? null,
      failure: a.failure?.code ?? null,
    })),
    failure_reason: s.status === 'FAILED' ? s.reason : null,
    paid_by: r.topUpId === undefined ? 'wallet' : 'direct',
    top_up_id: r.topUpId ?? null,
    ...topUpPayerAction(payment),
    created_at: new Date(r.createdAt).toISOString(),
    updated_at: new Date(r.updatedAt).toISOString(),
  };
}
