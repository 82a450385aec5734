import { SimulatedGateway, type SimulatedGatewayOptions } from '../../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../../src/simulator/simulated-merchant.js';
import { nativeFace } from '../../src/simulator/server/native-face.js';
import {
  type SimulatorServer,
  type SimulatorServerOptions,
  startSimulatorServer,
} from '../../src/simulator/server/simulator-server.js';

export const TEST_SECRET = 'test-secret-0123456789abcdef';

export interface RunningSimulator {
  readonly server: SimulatorServer;
  readonly bank: SimulatedGateway;
  readonly merchant: SimulatedMerchant;
  readonly url: string;
  /** PUT /_sim/chaos over HTTP, as an operator would. */
  chaos(doc: unknown): Promise<void>;
  close(): Promise<void>;
}

/** A standalone simulator with the native face on 127.0.0.1, port 0. */
export async function startTestSimulator(
  opts: { bank?: SimulatedGatewayOptions; server?: Partial<Omit<SimulatorServerOptions, 'bank' | 'merchant'>> } = {},
): Promise<RunningSimulator> {
  const bank = new SimulatedGateway({ notifySecret: TEST_SECRET, ...opts.bank });
  const merchant = new SimulatedMerchant();
  const server = await startSimulatorServer({
    bank,
    merchant,
    faces: [nativeFace({ secret: TEST_SECRET, methods: ['wallet', 'sim_qr'] })],
    ...opts.server,
  });
  return {
    server,
    bank,
    merchant,
    url: server.url,
    async chaos(doc) {
      const res = await fetch(`${server.url}/_sim/chaos`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(doc),
      });
      if (res.status !== 200) throw new Error(`chaos refused: ${res.status} ${await res.text()}`);
    },
    close: () => server.close(),
  };
}
