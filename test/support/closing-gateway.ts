import type { GatewayPaymentResult } from '../../src/ports/payment-gateway.js';
import { SimulatedGateway } from '../../src/simulator/simulated-gateway.js';

/**
 * A simulated gateway that, once it closed a trade, answers only after `afterClose` ran (to force
 * an interleaving); the next `unreachable` closes fail before they reach it.
 */
export class ClosingGateway extends SimulatedGateway {
  afterClose: (outTradeNo: string) => Promise<void> = () => Promise.resolve();
  unreachable = 0;

  override async close(outTradeNo: string): Promise<GatewayPaymentResult> {
    if (this.unreachable > 0) {
      this.unreachable -= 1;
      throw new Error('connection reset');
    }
    const closed = await super.close(outTradeNo);
    await this.afterClose(outTradeNo);
    return closed;
  }
}
