import type { FaceValueRules } from '../../domain/recharge/face-values.js';
import type { OperatorId, SegmentCategory } from '../../domain/recharge/number-segments.js';
import type { OperatorSettings } from '../../domain/recharge/operator-settings.js';
import type { RechargeChannel } from '../../ports/recharge-channel.js';
import type { ChannelRouter } from './channel-router.js';

/** The recharge side of the service, built by the composition root from the `recharge` configuration. */
export interface RechargeRuntime {
  readonly router: ChannelRouter;
  readonly channels: ReadonlyMap<string, RechargeChannel>;
  readonly operatorSettings: Readonly<Record<OperatorId, OperatorSettings>>;
  readonly faceValues: FaceValueRules;
  readonly rechargeableCategories: readonly SegmentCategory[];
  /** Channels tried per recharge at most. */
  readonly maxAttempts: number;
  readonly pollIntervalMs: number;
  readonly processingDeadlineMs: number;
}
