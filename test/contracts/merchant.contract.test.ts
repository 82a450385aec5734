import { HttpMerchant } from '../../src/adapters/merchants/http-merchant.js';
import { SimulatedMerchant } from '../../src/simulator/simulated-merchant.js';
import { startTestSimulator, TEST_SECRET } from '../support/simulator-server.js';
import { merchantContract } from './merchant-contract.js';

// The built-in coffee shop, in-process. Its lost answer is its own simulated timeout (the drink is
// made, then it throws at once: `hangMs` 0), so no real time passes.
merchantContract('simulated coffee shop (in-process)', () => {
  const shop = new SimulatedMerchant({ seed: 1 });
  const set = (s: Parameters<SimulatedMerchant['chaos']['set']>[0]): Promise<void> => {
    shop.chaos.set(s);
    return Promise.resolve();
  };
  return Promise.resolve({
    merchant: shop,
    groundTruth: () => shop.groundTruth,
    chaos: {
      refuseOrders: () => set({ failureRate: 1 }),
      loseAnswers: () => set({ timeoutRate: 1 }),
      failServer: () => set({ errorRate: 1 }),
      calm: () => set({ failureRate: 0, timeoutRate: 0, errorRate: 0 }),
    },
    close: () => Promise.resolve(),
  });
});

/** The adapter's patience: a lost answer costs this much real time. */
const HTTP_TIMEOUT_MS = 1000;

// The signed-HTTP merchant against the standalone simulator's shop (its native face) on
// 127.0.0.1, with the chaos set over HTTP as an operator would (`PUT /_sim/chaos`).
merchantContract('HTTP merchant ↔ standalone simulator (native face over HTTP)', async () => {
  const sim = await startTestSimulator();
  const merchant = new HttpMerchant({ baseUrl: sim.url, secret: TEST_SECRET, timeoutMs: HTTP_TIMEOUT_MS });
  return {
    merchant,
    groundTruth: () => sim.merchant.groundTruth,
    chaos: {
      refuseOrders: () => sim.chaos({ merchant_reject_rate: 1 }),
      // The shop makes the drink; the simulator holds the answer far past our timeout (until it closes).
      loseAnswers: () => sim.chaos({ hang_rate: 1, hang_ms: 60_000 }),
      failServer: () => sim.chaos({ error_rate: 1, error_status: 503 }),
      calm: () => sim.chaos({}),
    },
    close: async () => {
      await merchant.shutdown();
      await sim.close();
    },
  };
});
