import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { SimulatedRechargeChannel } from '../src/simulator/simulated-recharge-channel.js';
import { type Cluster, ENGINES, startCluster } from './support/cluster.js';
import { FAST_MOBILE } from './support/recharge-harness.js';
import { ADMIN, LogSink, shortLease } from './support/test-app.js';

/**
 * A recharge job may follow a slow channel for longer than its lease (the channel accepts at
 * once and tops up minutes later). Its lease is renewed while it waits, so exactly one loop
 * drives it — on one process, and with a second instance polling the same PostgreSQL database.
 */
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const LEASE = 600;

describe.each(ENGINES)('a channel slower than the lease, on %s', (engine) => {
  it('is driven by exactly one loop: one submission, one routing sample, no lease lost', async () => {
    const carriers = new SimulatedCarriers();
    const bank = new SimulatedGateway();
    // Accepted at once, topped up when the test says: after the request answered and 4 leases passed.
    // (On a wall-clock delay, a loaded machine could answer the request after the top-up: 201, not 202.)
    let topUp!: () => void;
    const toppedUp = new Promise<void>((r) => (topUp = r));
    const slow = new SimulatedRechargeChannel({
      name: 'slow',
      carriers,
      seed: 3,
      operatorSettings: FAST_MOBILE,
      profile: { chaos: { latencyMs: { min: 1, max: 3 } }, processingMs: { min: 2400, max: 2400 } },
      // Its processing delay ends at the test's word; its 1–3 ms latencies are real.
      sleep: (ms) => (ms >= 2400 ? toppedUp : new Promise((r) => setTimeout(r, ms))),
    });
    const logs: LogSink[] = [];
    cluster = await startCluster(
      engine,
      shortLease(LEASE, {
        worker: { poll_interval_ms: 20, retry_base_ms: 10, retry_max_ms: 50 },
        server: { wait_for_completion_ms: 100 },
        recharge: {
          poll_interval_ms: 50,
          processing_deadline_ms: 10_000,
          operators: { CHINA_MOBILE: { timeout_ms: 150 } },
          channels: { slow: { type: 'simulator', operators: ['CHINA_MOBILE'] } },
        },
      }),
      () => {
        const sink = new LogSink();
        logs.push(sink);
        return { gateway: bank, carriers, rechargeChannels: new Map([['slow', slow]]), logDestination: sink };
      },
    );
    const c = cluster;
    for (const a of c.apps) a.start();
    const top = await c.at(0).http.inject({
      method: 'POST',
      url: '/api/v1/wallet/top-ups',
      headers: { 'content-type': 'application/json', 'x-user-id': 'ann' },
      payload: { amount: 10_000 },
    });
    expect(top.statusCode).toBe(201);
    const res = await c.at(0).http.inject({
      method: 'POST',
      url: '/api/v1/recharges',
      headers: { 'content-type': 'application/json', 'x-user-id': 'ann' },
      payload: { phone: '13800138000', amount: 5000 },
    });
    expect(res.statusCode).toBe(202);
    const id = res.json<{ recharge: { id: string } }>().recharge.id;
    // The job follows the processing recharge for 4 of its leases: only renewals keep it its own.
    await new Promise((r) => setTimeout(r, 4 * LEASE));
    const meanwhile = await c.apps[0]!.services.recharge.get(ADMIN, id);
    expect(meanwhile.ok && meanwhile.value.status).toBe('PROCESSING');
    topUp();
    let status = '';
    for (let i = 0; i < 400 && status !== 'SUCCEEDED'; i++) {
      const r = await c.apps[0]!.services.recharge.get(ADMIN, id);
      status = r.ok ? r.value.status : '';
      if (status !== 'SUCCEEDED') await new Promise((r2) => setTimeout(r2, 25));
    }
    expect(status).toBe('SUCCEEDED');
    expect(slow.calls.submit).toBe(1);
    expect(carriers.groundTruth).toHaveLength(1);
    const samples = c.apps.flatMap((a) => a.services.recharge.channels()).reduce((n, ch) => n + ch.window.samples, 0);
    expect(samples).toBe(1);
    for (const l of logs) expect(l.text).not.toContain('lease lost');
    const job = await c.apps[0]!.services.maintenance.queueDepth();
    expect(job.running ?? 0).toBe(0);
  });
});
