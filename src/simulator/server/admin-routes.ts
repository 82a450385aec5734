import type { FastifyInstance, FastifyReply } from 'fastify';
import { ZodError } from 'zod';
import type { SimTrade } from '../simulated-gateway.js';
import type { SimulatorServer, SimulatorServerOptions } from './simulator-types.js';

/** A problem+json answer of the simulator's own routes. */
export const problem = (
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
): FastifyReply =>
  reply
    .code(status)
    .header('content-type', 'application/problem+json')
    .send({ type: 'about:blank', status, code, detail, ...extra });

function tradeView(t: SimTrade): Record<string, unknown> {
  return {
    out_trade_no: t.outTradeNo,
    trade_no: t.tradeNo,
    status: t.status,
    amount: t.amount.amount,
    currency: t.amount.currency,
    method: t.method,
    payer: t.payer,
    refunded: t.refunded,
    ...(t.failureCode === undefined ? {} : { failure_code: t.failureCode }),
    ...(t.notifyUrl === undefined ? {} : { notify_url: t.notifyUrl }),
  };
}

/**
 * The simulator's control surface under `/_sim/` (no chaos, no authentication: bind the
 * simulator to a private address). What a test or a benchmark run needs: set the chaos, play
 * the payer, and read back what really happened.
 */
export function registerAdminRoutes(
  app: FastifyInstance,
  server: SimulatorServer,
  options: SimulatorServerOptions,
): void {
  const { bank, merchant } = options;

  app.get('/healthz', () => ({ ok: true, faces: options.faces.map((f) => f.name) }));

  app.get('/_sim/chaos', () => server.chaos.settings);
  app.put('/_sim/chaos', (req, reply) => {
    try {
      return server.setChaos(req.body ?? {});
    } catch (e) {
      if (e instanceof ZodError) {
        return problem(reply, 400, 'VALIDATION_FAILED', 'invalid chaos document', {
          errors: e.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        });
      }
      throw e;
    }
  });

  app.get<{ Querystring: { prefix?: string } }>('/_sim/ground-truth', (req) => {
    const prefix = typeof req.query.prefix === 'string' ? req.query.prefix : '';
    const events = bank.groundTruth.filter((e) => e.outTradeNo.startsWith(prefix));
    return {
      captures: events.filter((e) => e.type === 'capture').length,
      refunds: events.filter((e) => e.type === 'refund').length,
      events,
      fulfilments: merchant.groundTruth,
    };
  });

  app.get<{ Params: { outTradeNo: string } }>('/_sim/trades/:outTradeNo', (req, reply) => {
    const t = bank.trade(req.params.outTradeNo);
    return t === undefined ? problem(reply, 404, 'TRADE_NOT_FOUND', `no trade ${req.params.outTradeNo}`) : tradeView(t);
  });

  // The simulated payer scans the QR code and pays (or declines) a waiting trade.
  app.post<{ Params: { outTradeNo: string } }>('/_sim/trades/:outTradeNo/pay', (req, reply) => {
    const body = req.body as { decline?: unknown } | null | undefined;
    const decline = body?.decline === true;
    const t = bank.trade(req.params.outTradeNo);
    if (t === undefined) return problem(reply, 404, 'TRADE_NOT_FOUND', `no trade ${req.params.outTradeNo}`);
    if (!bank.payPending(req.params.outTradeNo, decline))
      return problem(reply, 409, 'TRADE_NOT_PENDING', `trade is ${t.status}, not waiting for the payer`);
    return tradeView(t);
  });

  app.get('/_sim/notifications', () => {
    const out: Record<string, unknown> = {};
    for (const [face, n] of server.notifiers) out[face] = n.deliveries;
    return out;
  });

  app.get('/_sim/stats', () => server.stats());
}
