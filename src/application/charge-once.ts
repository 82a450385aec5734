import { type CreatePaymentRequest, type GatewayPaymentResult, GatewayUnknownOutcomeError, type PaymentGateway } from '../ports/payment-gateway.js';

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
): Promise<{ readonly ok: true; readonly result: GatewayPaymentResult } | { readonly ok: false; readonly retry: string }> {
  try {
    let result: GatewayPaymentResult = firstAttempt ? { status: 'not_found', outTradeNo: request.outTradeNo } : await gateway.query(request.outTradeNo);
    if (result.status === 'not_found') result = await gateway.create(request);
    return { ok: true, result };
  } catch (e) {
    const unknown = e instanceof GatewayUnknownOutcomeError;
    return { ok: false, retry: `${unknown ? 'outcome unknown' : 'gateway error'}: ${e instanceof Error ? e.message : String(e)}` };
  }
}
