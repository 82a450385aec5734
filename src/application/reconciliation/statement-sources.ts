import type { StatementFile, StatementFormat, StatementLine } from '../../domain/statements/statement-line.js';
import type { PaymentGateway } from '../../ports/payment-gateway.js';
import type { RechargeRuntime } from '../recharge/recharge-api.js';

/** Where statements come from and how they are read (the importers are adapters). */
export interface StatementSources {
  readonly gateways: ReadonlyMap<string, PaymentGateway>;
  readonly recharge: RechargeRuntime | undefined;
  readonly readStatement: (file: StatementFile) => AsyncIterable<StatementLine>;
  /** A source's own statement layout (a gateway's kind: alipay, wechatpay; the simulator's), if it has one. */
  readonly formatOf: (source: string) => StatementFormat | undefined;
}
