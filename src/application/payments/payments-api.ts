import type { GatewayHealth, RawNotification } from '../../ports/payment-gateway.js';
import { JOB } from '../jobs/job-kinds.js';
import type { JobHandler } from '../jobs/job-runner.js';
import type { Runtime } from '../jobs/runtime.js';
import { type CallbackResult, handleCallback } from './handle-callback.js';
import { resolveLateCapture } from './resolve-late-capture.js';

export { flagLateCapture } from './late-capture.js';
export type { CallbackEffect, CallbackResult } from './handle-callback.js';

/** Payment gateways as the service sees them: their callbacks and their health. */
export interface PaymentsApi {
  /** A gateway's notification, as received; the worker is woken when it moved something. */
  handleCallback(gateway: string, raw: RawNotification): Promise<CallbackResult>;
  /** Each configured gateway with its methods and health (breaker state, calls, failures). */
  gateways(): Array<{
    readonly name: string;
    readonly methods: readonly string[];
    readonly health: GatewayHealth | null;
  }>;
}

export function createPayments(rt: Runtime): { readonly api: PaymentsApi; readonly jobs: Record<string, JobHandler> } {
  const { deps, runner } = rt;
  return {
    api: {
      async handleCallback(gateway, raw) {
        const r = await handleCallback(deps, gateway, raw);
        if (r.accepted && r.effect !== 'duplicate' && r.effect !== 'no_change') runner.wake();
        return r;
      },
      gateways: () =>
        [...deps.gateways.entries()].map(([name, g]) => ({ name, methods: g.methods, health: g.health?.() ?? null })),
    },
    jobs: { [JOB.resolveLateCapture]: (job) => resolveLateCapture(deps, job) },
  };
}
