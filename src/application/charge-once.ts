import {
  type CreatePaymentRequest,
  type GatewayPaymentResult,
  type GatewayRefundResult,
  GatewayUnknownOutcomeError,
  type PaymentGateway,
  type RefundRequest,
} from '../ports/payment-gateway.js';

/**
 * Charge under a fixed out_trade_no without ever charging twice: on the first attempt create;
 * on any later one (a retry, a resume after a crash) QUERY first, because the earlier call may
 * have charged without our hearing back, and create again — same out_trade_no — only when the
 * gateway says "not found". A failed call comes back as the retry reason, never thrown.
 */
export async function chargeOnce(
  gateway: PaymentGateway,
  firstAttempt: boolean,
  request: CreatePaymentRequest,
): Promise<
  { readonly ok: true; readonly result: GatewayPaymentResult } | { readonly ok: false; readonly retry: string }
> {
  try {
    let result: GatewayPaymentResult = firstAttempt
      ? { status: 'not_found', outTradeNo: request.outTradeNo }
      : await gateway.query(request.outTradeNo);
    if (result.status === 'not_found') result = await gateway.create(request);
    return { ok: true, result };
  } catch (e) {
    const unknown = e instanceof GatewayUnknownOutcomeError;
    return {
      ok: false,
      retry: `${unknown ? 'outcome unknown' : 'gateway error'}: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}

/**
 * Refund under a fixed out_refund_no without ever refunding twice, as `chargeOnce` charges: the
 * first attempt sends; a later one asks about the key first and sends again, with the same key,
 * only if the gateway never heard of it. A failed call comes back as the retry reason.
 */
export async function refundOnce(
  gateway: PaymentGateway,
  firstAttempt: boolean,
  request: RefundRequest,
): Promise<
  { readonly ok: true; readonly result: GatewayRefundResult } | { readonly ok: false; readonly retry: string }
> {
  try {
    let result: GatewayRefundResult = firstAttempt
      ? { status: 'not_found', outRefundNo: request.outRefundNo }
      : await gateway.queryRefund(request.outTradeNo, request.outRefundNo);
    if (result.status === 'not_found') result = await gateway.refund(request);
    return { ok: true, result };
  } catch (e) {
    const unknown = e instanceof GatewayUnknownOutcomeError;
    return {
      ok: false,
      retry: `${unknown ? 'outcome unknown' : 'gateway error'}: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}
