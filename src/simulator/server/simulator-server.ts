import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { Notifier, type OutgoingNotification } from '../notifier.js';
import type { SimulatedGateway } from '../simulated-gateway.js';
import { registerAdminRoutes } from './admin-routes.js';
import { registerPayPageRoutes } from './pay-page-routes.js';
import type { FaceContext, SimulatorServer, SimulatorServerOptions } from './simulator-types.js';

export type {
  FaceContext,
  SimulatorFace,
  SimulatorServer,
  SimulatorServerOptions,
  SimulatorStats,
} from './simulator-types.js';
import { HttpChaos, httpChaosSchema } from './http-chaos.js';

/** Routes the chaos never touches: the simulator's own control surface. */
const isAdminPath = (url: string): boolean =>
  url.startsWith('/_sim/') || url === '/healthz' || url.startsWith('/healthz?');

/** Answers held by accept-then-hang, released (connection dropped) when the server closes. */
interface Hold {
  readonly release: () => void;
}

/**
 * Builds the standalone simulator: one order book and one coffee shop behind every face, HTTP
 * chaos in front of every face route (latency, 5xx before any effect, 429, accept-then-hang),
 * one notifier per face, and the admin routes under `/_sim/`.
 */
export async function buildSimulatorServer(options: SimulatorServerOptions): Promise<SimulatorServer> {
  const now = options.now ?? Date.now;
  const seed = options.seed ?? 42;
  const chaos = new HttpChaos(seed, now);
  const app = Fastify({ logger: options.logger ?? false, forceCloseConnections: true });
  const owners = new Map<string, string>();
  const notifiers = new Map<string, Notifier>();
  const holds = new Set<Hold>();
  const connections = { total: 0, open: 0 };
  const requests = { total: 0, byStatus: {} as Record<string, number> };

  app.server.on('connection', (socket) => {
    connections.total += 1;
    connections.open += 1;
    socket.once('close', () => {
      connections.open -= 1;
    });
  });

  app.decorateRequest('simHangMs', 0);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (isAdminPath(req.url) || !chaos.applies(req.url)) return;
    const verdict = chaos.decide();
    if (verdict.latencyMs > 0) await new Promise((r) => setTimeout(r, verdict.latencyMs));
    switch (verdict.kind) {
      case 'error':
        return reply
          .code(verdict.status)
          .header('content-type', 'application/json')
          .send('{"code":"SYSTEM_ERROR","message":"simulated server error: nothing was done"}');
      case 'rate_limited':
        return reply
          .code(429)
          .headers(verdict.headers)
          .header('content-type', 'application/json')
          .send('{"code":"RATE_LIMITED","message":"too many requests: nothing was done"}');
      case 'pass':
        reply.headers(verdict.rateHeaders);
        (req as FastifyRequest & { simHangMs: number }).simHangMs = verdict.hangMs;
        return;
      default: {
        const never: never = verdict;
        throw new Error(`unknown verdict ${JSON.stringify(never)}`);
      }
    }
  });
  // Accept-then-hang: the face has done its work; the answer waits past the client's patience.
  app.addHook('onSend', async (req, reply, payload) => {
    const hangMs = (req as FastifyRequest & { simHangMs: number }).simHangMs;
    if (hangMs > 0) {
      await new Promise<void>((resolve) => {
        const hold: Hold = {
          release: () => {
            clearTimeout(timer);
            holds.delete(hold);
            reply.raw.socket?.destroy();
            resolve();
          },
        };
        const timer = setTimeout(() => {
          holds.delete(hold);
          resolve();
        }, hangMs);
        holds.add(hold);
      });
    }
    return payload;
  });
  app.addHook('onResponse', (_req, reply, done) => {
    requests.total += 1;
    const k = String(reply.statusCode);
    requests.byStatus[k] = (requests.byStatus[k] ?? 0) + 1;
    done();
  });
  app.addHook('preClose', (done) => {
    for (const h of [...holds]) h.release();
    done();
  });

  for (const face of options.faces) {
    const ctx: FaceContext = {
      bank: ownedBy(options.bank, face.name, owners),
      merchant: options.merchant,
      now,
      keysDir: options.keysDir,
    };
    await app.register(async (scope) => {
      await face.register(scope, ctx);
    });
    const n = face.notifications;
    if (n !== undefined) {
      const methods = new Set(n.methods ?? []);
      notifiers.set(
        face.name,
        new Notifier({
          source: options.bank,
          format: (e) => n.format(e),
          accepts: (e) =>
            (owners.get(e.trade.outTradeNo) ?? (methods.has(e.trade.method) ? face.name : undefined)) === face.name,
          ...(n.forge === undefined
            ? {}
            : { forge: (x) => (n.forge as (y: OutgoingNotification) => OutgoingNotification)(x) }),
          seed: seed + notifiers.size + 1,
          ...(options.notifyRetry === undefined ? {} : { retry: options.notifyRetry }),
          ...(options.notifyTimeoutMs === undefined ? {} : { timeoutMs: options.notifyTimeoutMs }),
        }),
      );
    }
  }

  let url = '';
  const server: SimulatorServer = {
    app,
    get url() {
      return url;
    },
    chaos,
    notifiers,
    setChaos(input: unknown) {
      const s = httpChaosSchema.parse(input);
      chaos.set(s);
      options.bank.chaos.set({ failureRate: s.decline_rate });
      options.merchant.chaos.set({ failureRate: s.merchant_reject_rate });
      for (const face of options.faces) face.onChaos?.(s);
      let i = 0;
      for (const notifier of notifiers.values()) {
        i += 1;
        notifier.setChaos(
          {
            duplicateRate: s.notify.duplicate_rate,
            outOfOrderRate: s.notify.out_of_order_rate,
            lostRate: s.notify.lost_rate,
            wrongSignatureRate: s.notify.wrong_signature_rate,
            outOfOrderDelayMs: s.notify.out_of_order_delay_ms,
          },
          s.seed === undefined ? undefined : s.seed + i,
        );
      }
      return s;
    },
    stats: () => ({
      connections: { ...connections },
      requests: { total: requests.total, byStatus: { ...requests.byStatus } },
      chaos: { ...chaos.counts },
    }),
    async listen() {
      const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
      url = address;
      return address;
    },
    async close() {
      for (const n of notifiers.values()) n.close();
      await app.close();
    },
  };
  registerAdminRoutes(app, server, options);
  if (options.payPages !== undefined) registerPayPageRoutes(app, options.bank, options.payPages);
  if (options.chaos !== undefined) server.setChaos(options.chaos);
  return server;
}

/** Build and listen. */
export async function startSimulatorServer(options: SimulatorServerOptions): Promise<SimulatorServer> {
  const server = await buildSimulatorServer(options);
  await server.listen();
  return server;
}

/**
 * The order book as one face sees it: the same instance, except that `create` first notes
 * which face opened the trade (the first one to use an out_trade_no owns it).
 */
function ownedBy(bank: SimulatedGateway, face: string, owners: Map<string, string>): SimulatedGateway {
  return new Proxy(bank, {
    get(target, prop) {
      if (prop === 'create') {
        return (req: Parameters<SimulatedGateway['create']>[0]) => {
          if (!owners.has(req.outTradeNo)) owners.set(req.outTradeNo, face);
          return target.create(req);
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
