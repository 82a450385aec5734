import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/composition/create-app.js';
import type { CrashHook, CrashPoint } from '../../src/application/kernel/crash-points.js';
import { businessDateOf } from '../../src/application/reconciliation/daily.js';
import { createApp } from '../../src/composition/create-app.js';
import { testConfig } from '../support/test-app.js';
import { copyOf, nowhere, template } from './template-db.js';
import { checkInvariants, reconcileClean, unsettled } from './invariants.js';
import { Prng } from './prng.js';
import { SimClock } from './sim-clock.js';
import { CHANNELS, type Delivery, faultsFrom, GATEWAY, World } from './world.js';

/** What the crash hook throws: the instance "dies" at that point; the simulation builds a new one. */
export class Crash extends Error {
  constructor(point: CrashPoint | 'dead') {
    super(`simulated crash (${point})`);
    this.name = 'Crash';
  }
}

export interface RunOptions {
  /** Steps of client traffic under chaos before the faults are switched off. */
  readonly steps?: number;
  /** Kill app instances at seeded points (default true). */
  readonly crashes?: boolean;
  /** Keep the SQLite file (to look at a failing seed's database). */
  readonly keepDb?: boolean;
}

export interface SeedResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failures: readonly string[];
  readonly traceHash: string;
  readonly trace: readonly string[];
  readonly stats: Readonly<Record<string, number>>;
  readonly dbPath: string;
}

/** 2026-11-20 00:00 UTC; each seed starts somewhere in the following day, so some cross midnight in Shanghai. */
const EPOCH = Date.parse('2026-11-20T00:00:00Z');
const USERS = ['u0', 'u1', 'u2', 'u3'] as const;
const PHONES = ['13800138001', '13900139002', '18600186003', '15000150004', '13311110005', '18911110006'];
const DRINKS: ReadonlyArray<readonly [string, string]> = [
  ['latte', 'medium'],
  ['latte', 'large'],
  ['americano', 'small'],
  ['cappuccino', 'medium'],
];
const FACES = [1000, 2000, 3000, 5000];

interface Instance {
  readonly n: number;
  app: App | undefined;
  readonly view: ReturnType<SimClock['view']>;
  dead: boolean;
  units: number;
  crashAt: number;
  /** Rejects when the instance is buried: its open connections are reset, as a dead process's are. */
  readonly gone: Promise<never>;
  readonly reset: () => void;
}

/** What a client sees of a request whose server died while it waited. */
class ConnectionReset extends Error {}

/** An injected request to this instance, or a reset connection if it dies first. */
function injectOn(inst: Instance, opts: InjectOptions): Promise<LightMyRequestResponse> {
  const app = inst.app;
  if (app === undefined || inst.dead) return Promise.reject(new ConnectionReset('no such server'));
  return Promise.race([app.http.inject(opts), inst.gone]);
}

/** The service's configuration in the simulation: SQLite, the embedded simulators, fast background work. */
function simulationConfig(): Record<string, unknown> {
  return {
    log: { level: 'silent' },
    auto_confirm_order: false,
    trusted_actions: ['submit_payment', 'recharge_phone', 'wallet_top_up', 'refund'],
    // Top-ups and direct recharges wait for the payer (a QR code), as orders confirmed with sim_qr do.
    orders: { payment_method: 'sim_qr' },
    // Requests wait for their work on simulated time; the real-time bound must never be what ends a wait.
    server: { port: 0, wait_for_completion_ms: 60_000 },
    worker: { poll_interval_ms: 20_000, lease_ms: 30_000, retry_base_ms: 1000, retry_max_ms: 60_000 },
    rules: { sweep_interval_ms: 60_000 },
    maintenance: { enabled: false },
    webhooks: { enabled: false },
    reconciliation: { schedule: { enabled: false } },
    rate_limit: { enabled: false },
    security: { block: { enabled: false } },
    recharge: {
      poll_interval_ms: 5000,
      channels: Object.fromEntries(
        CHANNELS.map((n) => [
          n,
          {
            type: 'simulator',
            operators: ['CHINA_MOBILE', 'CHINA_UNICOM', 'CHINA_TELECOM', 'CHINA_BROADNET', 'VIRTUAL'],
          },
        ]),
      ),
    },
  };
}

/**
 * One seed, start to end: chaos traffic against crashing instances, then calm until everything
 * settles, then the invariants and the reconciliation of every simulated day. Deterministic: the
 * same seed gives the same trace (and so the same hash) every time.
 */
export async function runSeed(seed: number, options: RunOptions = {}): Promise<SeedResult> {
  const rng = new Prng(seed);
  const faults = faultsFrom(rng.fork('faults'));
  const clock = new SimClock(EPOCH + rng.int(0, 86_400_000 - 1));
  const start = clock.now();
  const trace: string[] = [];
  const note = (line: string): void => {
    trace.push(`${String(Math.round(clock.now() - start)).padStart(9)} ${line}`);
    if (process.env.VOPR_TIMING !== undefined) console.error(`${Math.round(performance.now())} ${line}`);
  };
  note(`seed ${seed} faults ${JSON.stringify(faults)}`);
  const stats: Record<string, number> = { crashes: 0, requests: 0, retries: 0, deliveries: 0, refused: 0 };
  const failures: string[] = [];
  const base = await template(simulationConfig(), USERS);
  const dbPath = copyOf(base);

  // --- the service's instances: one live at a time, each killed at a seeded unit of work ---
  const steps = options.steps ?? 40;
  const crashRng = rng.fork('crash');
  const appRng = rng.fork('app');
  let crashesLeft = options.crashes === false ? 0 : crashRng.int(0, 3);
  let live: Instance | undefined;
  let incarnation = 0;
  const deliveries = new Set<Promise<void>>();

  const boot = async (): Promise<Instance> => {
    for (;;) {
      let reset: () => void = () => undefined;
      const gone = new Promise<never>((_, reject) => {
        reset = () => reject(new ConnectionReset('connection reset'));
      });
      gone.catch(() => undefined);
      const inst: Instance = {
        gone,
        reset,
        n: ++incarnation,
        app: undefined,
        view: clock.view(),
        dead: false,
        units: 0,
        crashAt: crashesLeft > 0 && crashRng.chance(0.8) ? crashRng.int(1, 30 * steps) : -1,
      };
      const hook: CrashHook = (point) => {
        if (inst.dead) throw new Crash('dead');
        inst.units += 1;
        if (inst.units === inst.crashAt) {
          inst.dead = true;
          crashesLeft -= 1;
          stats.crashes = (stats.crashes ?? 0) + 1;
          note(`CRASH instance ${inst.n} ${point} of unit of work ${inst.units}`);
          throw new Crash(point);
        }
      };
      try {
        const app = await createApp(testConfig(simulationConfig(), dbPath), {
          logDestination: nowhere(),
          clock: inst.view,
          random: () => appRng.next(),
          gateway: world.gateway,
          merchant: world.merchant,
          carriers: world.carriers,
          rechargeChannels: world.channels,
          crashHook: hook,
          workerId: `sim-${seed}-${inst.n}`,
        });
        inst.app = app;
      } catch (e) {
        if (!(e instanceof Crash)) throw e;
        inst.view.kill();
        continue; // died while starting: start again
      }
      if (inst.dead) {
        await bury(inst);
        continue;
      }
      inst.app.start();
      stats.boots = (stats.boots ?? 0) + 1;
      note(`instance ${inst.n} up`);
      return inst;
    }
  };

  /** What a killed process leaves: its timers gone, its connection closed once its last statement ran. */
  const bury = async (inst: Instance): Promise<void> => {
    inst.dead = true;
    inst.reset();
    inst.view.kill();
    await clock.settle(6);
    await inst.app?.storage.close().catch(() => undefined);
  };

  let restarting: Promise<void> | undefined;
  const checkCrash = async (): Promise<void> => {
    if (live === undefined || !live.dead) return;
    restarting ??= (async () => {
      const dead = live;
      if (dead !== undefined) await bury(dead);
      // A restarted process reads the clock later than the dead one did (ids stay in time order).
      await clock.runUntil(clock.now() + 1);
      live = await boot();
    })().finally(() => (restarting = undefined));
    await restarting;
  };

  /** The live instance, once any restart under way is done. */
  const current = async (): Promise<Instance & { app: App }> => {
    for (;;) {
      if (restarting !== undefined) await restarting;
      if (live !== undefined && !live.dead && live.app !== undefined) return live as Instance & { app: App };
      await checkCrash();
    }
  };

  // --- callbacks: delivered through whichever instance is live, retried until accepted ---
  const deliver = (d: Delivery, delayMs: number, attempt = 1): void => {
    clock.schedule(delayMs, () => {
      const p = (async () => {
        const inst = await current();
        const req = d.send();
        let res: LightMyRequestResponse;
        try {
          res = await injectOn(inst, { method: 'POST', url: req.url, headers: req.headers, payload: req.payload });
        } catch (e) {
          if (!(e instanceof ConnectionReset)) throw e;
          note(`callback ${d.what} attempt ${attempt} -> connection reset`);
          if (attempt < 8) deliver(d, Math.min(600_000, 2000 * 2 ** attempt), attempt + 1);
          return;
        }
        stats.deliveries = (stats.deliveries ?? 0) + 1;
        const code = res.statusCode >= 400 ? ` ${String(res.headers['x-error-code'] ?? codeOf(res.body))}` : '';
        note(`callback ${d.what} attempt ${attempt} -> ${res.statusCode}${code}`);
        if (res.statusCode >= 500 && attempt < 8) deliver(d, Math.min(600_000, 2000 * 2 ** attempt), attempt + 1);
        else if (res.statusCode >= 400) stats.refused = (stats.refused ?? 0) + 1;
      })();
      deliveries.add(p);
      void p.finally(() => deliveries.delete(p));
    });
  };

  const world = new World(clock, rng.fork('world'), faults, deliver, note);
  live = await boot();

  // --- clients: people placing, paying, refunding, topping up and recharging at once ---
  const clientRng = rng.fork('clients');
  const orders = new Map<string, string[]>(USERS.map((u) => [u, []]));
  const inflight = new Set<Promise<void>>();
  /** The request each client is waiting on now, by client operation. */
  const waiting = new Map<number, string>();
  let opSeq = 0;

  /** One request, sent again with the same key while the service answers 5xx (a crash mid-request). */
  const send = async (
    label: string,
    user: string,
    method: 'GET' | 'POST',
    url: string,
    body?: unknown,
    key?: string,
    contentType = 'application/json',
  ): Promise<{ status: number; json: () => Record<string, unknown> }> => {
    const n = Number(/#(\d+)/.exec(label)?.[1] ?? 0);
    for (let attempt = 1; ; attempt++) {
      const inst = await current();
      stats.requests = (stats.requests ?? 0) + 1;
      waiting.set(
        n,
        `${label} ${user} ${method} ${url} (try ${attempt}, sent at ${Math.round(clock.now() - start)} ms)`,
      );
      let res: LightMyRequestResponse;
      try {
        res = await injectOn(inst, {
          method,
          url,
          headers: {
            'content-type': contentType,
            authorization: `Bearer ${base.keys[user] ?? ''}`,
            ...(key === undefined ? {} : { 'idempotency-key': key }),
          },
          ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
        });
      } catch (e) {
        if (!(e instanceof ConnectionReset)) throw e;
        note(`${label} ${user} -> connection reset (try ${attempt})`);
        stats.retries = (stats.retries ?? 0) + 1;
        await clock.sleep(clientRng.int(500, 5000));
        continue;
      }
      const code = res.statusCode >= 400 ? ` ${String(res.headers['x-error-code'] ?? codeOf(res.body))}` : '';
      waiting.delete(n);
      note(`${label} ${user} -> ${res.statusCode}${code}${attempt > 1 ? ` (try ${attempt})` : ''}`);
      // A 5xx is a crash mid-request; IDEMPOTENCY_IN_FLIGHT the first try still held by a dead instance.
      const again =
        res.statusCode >= 500 || code.includes('IDEMPOTENCY_IN_FLIGHT') || code.includes('CONCURRENT_MODIFICATION');
      if (!again || attempt >= 4) {
        return { status: res.statusCode, json: () => res.json<Record<string, unknown>>() };
      }
      stats.retries = (stats.retries ?? 0) + 1;
      await clock.sleep(clientRng.int(500, 5000));
    }
  };

  const operations = {
    order: async (user: string, n: number): Promise<void> => {
      const [drink, size] = clientRng.pick(DRINKS);
      const placed = await send(`order#${n}`, user, 'POST', '/api/v1/order', { drink, size }, `o-${n}`);
      if (placed.status !== 202) return;
      const id = (placed.json().order as { id: string }).id;
      orders.get(user)?.push(id);
      const method = clientRng.pick(['wallet', 'sim_qr']);
      await send(
        `confirm#${n} ${method}`,
        user,
        'POST',
        `/api/v1/orders/${id}/confirm`,
        { payment_method: method },
        `c-${n}`,
      );
    },
    refund: async (user: string, n: number): Promise<void> => {
      const mine = orders.get(user) ?? [];
      if (mine.length === 0) return;
      const id = clientRng.pick(mine);
      const partial = clientRng.chance(0.5);
      const body = partial ? { amount: clientRng.int(1, 12) * 100 } : {};
      await send(
        `refund#${n} ${partial ? 'partial' : 'full'}`,
        user,
        'POST',
        `/api/v1/orders/${id}/refund`,
        body,
        `r-${n}`,
      );
    },
    topUp: async (user: string, n: number): Promise<void> => {
      const amount = clientRng.pick([2000, 5000, 10_000]);
      await send(`top-up#${n} ${amount}`, user, 'POST', '/api/v1/wallet/top-ups', { amount }, `t-${n}`);
    },
    recharge: async (user: string, n: number): Promise<void> => {
      const pay = clientRng.pick(['wallet', 'direct']);
      const amount = clientRng.pick(FACES);
      const phone = clientRng.pick(PHONES);
      await send(`recharge#${n} ${pay} ${amount}`, user, 'POST', '/api/v1/recharges', { phone, amount, pay }, `p-${n}`);
    },
    batch: async (user: string, n: number): Promise<void> => {
      const rows = clientRng.int(2, 5);
      const csv = [
        'phone,amount',
        ...Array.from({ length: rows }, () => `${clientRng.pick(PHONES)},${clientRng.pick(FACES)}`),
      ];
      await send(
        `batch#${n} ${rows} rows`,
        user,
        'POST',
        '/api/v1/recharges/batch',
        csv.join('\n'),
        `b-${n}`,
        'text/csv',
      );
    },
  };
  const kinds = Object.keys(operations) as Array<keyof typeof operations>;
  const weights: Record<keyof typeof operations, number> = { order: 5, refund: 2, topUp: 3, recharge: 3, batch: 1 };
  const weighted = kinds.flatMap((k) => Array.from({ length: weights[k] }, () => k));

  const launch = (): void => {
    const kind = clientRng.pick(weighted);
    const user = clientRng.pick(USERS);
    const n = ++opSeq;
    const p = operations[kind](user, n).catch((e: unknown) => {
      failures.push(`client ${kind}#${n} threw: ${e instanceof Error ? e.message : String(e)}`);
    });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  try {
    for (let step = 0; step < steps; step++) {
      const burst = clientRng.int(0, 3);
      for (let i = 0; i < burst; i++) launch();
      await clock.runUntil(clock.now() + clientRng.int(50, 8000), checkCrash);
      await checkCrash();
    }
    // --- calm: no more faults or crashes; time runs on until every order and recharge has ended ---
    note('calm');
    world.calm();
    crashesLeft = 0;
    // The live instance keeps its seeded crash point only while the world is hostile.
    live.crashAt = -1;
    // Every 5 simulated minutes, until nothing waits any more (the repair rules act after 10–60 min).
    for (let i = 0; i < 6 * 12; i++) {
      await clock.runUntil(clock.now() + 300_000, checkCrash);
      await checkCrash();
      if (i >= 2 && inflight.size === 0 && (await unsettled((await current()).app)) === 0) break;
    }
    note('settled');
    for (const w of waiting.values()) failures.push(`never answered: ${w}`);

    const { app } = await current();
    const settleMore = async (ms: number): Promise<void> => {
      await clock.runUntil(clock.now() + ms, checkCrash);
    };
    const days = new Set<string>();
    for (let t = start; t <= clock.now(); t += 3_600_000) days.add(businessDateOf(t, 480));
    days.add(businessDateOf(clock.now(), 480));
    failures.push(...(await reconcileClean(app, [...days], [GATEWAY, ...CHANNELS], settleMore, note, world.bookedOn)));
    failures.push(...(await checkInvariants(app, world, note)));
    // --- the end state, in the trace: a run that behaves differently hashes differently ---
    const truth = `captures ${world.gateway.groundTruth.length} top-ups ${world.carriers.groundTruth.length}`;
    note(`world ${JSON.stringify(world.stats)} ${truth}`);
    await (await current()).app.close(1000);
  } catch (e) {
    failures.push(`the run itself failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  } finally {
    if (!options.keepDb && failures.length === 0) rmSync(dirname(dbPath), { recursive: true, force: true });
  }
  for (const f of failures) note(`FAIL ${f}`);
  stats.timers = clock.fired;
  const traceHash = createHash('sha256').update(trace.join('\n')).digest('hex');
  return { seed, ok: failures.length === 0, failures, traceHash, trace, stats, dbPath };
}

function codeOf(body: string): string {
  try {
    const b = JSON.parse(body) as { code?: unknown };
    return typeof b.code === 'string' ? b.code : '?';
  } catch {
    return '?';
  }
}
