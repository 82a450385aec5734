import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { AbuseApi } from '../../application/abuse/abuse-api.js';
import type { AgentService } from '../../application/agent/agent-api.js';
import type { BatchApi, BatchFeed } from '../../application/batch/batch-api.js';
import type { Caller } from '../../application/kernel/caller.js';
import type { IdempotencyApi } from '../../application/kernel/idempotency.js';
import type { FlagsApi } from '../../application/flags/flags-api.js';
import type { LedgerApi } from '../../application/ledger/ledger-api.js';
import type { MaintenanceApi } from '../../application/maintenance/maintenance-api.js';
import type { OrderFeed, OrdersApi } from '../../application/orders/orders-api.js';
import type { PaymentsApi } from '../../application/payments/payments-api.js';
import type { RechargeApi, RechargeFeed } from '../../application/recharge/recharge-api.js';
import type { RefundsApi } from '../../application/refunds/refunds-api.js';
import type { WalletApi } from '../../application/wallet/wallet-api.js';
import fastifyCookie from '@fastify/cookie';
import fastifyCors from '@fastify/cors';
import type { IdentityApi } from '../../application/identity/identity-api.js';
import { registerAbuseRoutes } from './abuse-routes.js';
import { registerConfirmationRoutes } from './confirmation-routes.js';
import { registerMandateRoutes } from './mandate-routes.js';
import { collectRouteDocs, openApiDocument, registerOpenApiRoutes } from './openapi-routes.js';
import { registerWebhookRoutes } from './webhook-routes.js';
import { registerReconciliationRoutes } from './reconciliation-routes.js';
import type { ReconciliationApi } from '../../application/reconciliation/reconciliation-api.js';
import type { MandatesApi } from '../../application/mandates/mandates-api.js';
import type { WebhooksApi } from '../../application/webhooks/webhooks-api.js';
import type { ConfirmationsApi } from '../../application/confirmations/confirmations-api.js';
import { registerAgentRoutes } from './agent-routes.js';
import { registerIdentityRoutes } from './identity-routes.js';
import { type McpRoutesOptions, registerMcpRoutes } from './mcp-routes.js';
import { registerAuthentication } from './plumbing/authenticate.js';
import { startRequestsFairly } from './plumbing/fair-turns.js';
import { closeQuietConnectionsOnShutdown } from './plumbing/quiet-connections.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import type { RequestSpan, Tracing } from '../../ports/tracing.js';
import type { ConfigReloader } from '../../ports/config-reload.js';
import { registerAdminRoutes } from './admin-routes.js';
import { registerBatchRoutes } from './batch-routes.js';
import { registerRechargeEventRoutes } from './recharge-events-routes.js';
import { registerFlagRoutes } from './flag-routes.js';
import type { AuditApi } from '../../application/audit/audit-api.js';
import { registerAuditRoutes } from './audit-routes.js';
import { registerLedgerRoutes } from './ledger-routes.js';
import { registerOrderRoutes } from './order-routes.js';
import { registerOrderEventRoutes } from './order-events-routes.js';
import { registerConsolePages } from './console-pages.js';
import { type PayerPages, registerPayerPageRoutes } from './payer-page-routes.js';
import { registerPaymentRoutes } from './payment-routes.js';
import { registerBlockCheck } from './plumbing/block-check.js';
import { type Metrics, registerMetricsRoute } from './plumbing/metrics.js';
import { clientErrorHandler, registerJsonParser, registerRequestHygiene } from './plumbing/hygiene.js';
import { problem, ProblemError, sendProblem } from './plumbing/problem.js';
import { type RateLimitSettings, registerRateLimit } from './plumbing/rate-limit.js';
import { ipSource } from './plumbing/sources.js';
import { registerRechargeRoutes } from './recharge-routes.js';
import { registerRefundRoutes } from './refund-routes.js';
import { registerWalletRoutes } from './wallet-routes.js';

/** The capabilities the HTTP API serves, one routes file each. */
export interface HttpServices {
  readonly orders: OrdersApi;
  readonly refunds: RefundsApi;
  readonly payments: PaymentsApi;
  readonly wallet: WalletApi;
  readonly recharge: RechargeApi;
  readonly batch: BatchApi;
  readonly ledger: LedgerApi;
  /** Review flags: listed, resolved with a note, acted on. */
  readonly flags: FlagsApi;
  /** Every resource's audit trail. */
  readonly audit: AuditApi;
  readonly maintenance: MaintenanceApi;
  readonly idempotency: IdempotencyApi;
  readonly identity: IdentityApi;
  /** Failures per source, and the sources blocked for them. */
  readonly abuse: AbuseApi;
  /** Money actions the policy held for the person. */
  readonly confirmations: ConfirmationsApi;
  /** Spending mandates: granted by a person, held by their agent. */
  readonly mandates: MandatesApi;
  /** Outbound webhooks: endpoints, delivery logs, redelivery. */
  readonly webhooks: WebhooksApi;
  readonly reconciliation: ReconciliationApi;
  /** Words to intent and the agent conversation. */
  readonly agent?: AgentService;
  /** Live order changes (the console's orders list, over server-sent events). */
  readonly orderFeed?: OrderFeed;
  /** Live recharge changes (the console's recharges list). */
  readonly rechargeFeed?: RechargeFeed;
  /** Live batch progress (the console's progress bar). */
  readonly batchFeed?: BatchFeed;
  /** Policy, menu and repair rules reloaded without a restart (POST /api/v1/admin/reload). */
  readonly reloader?: ConfigReloader;
}

export interface HttpServerOptions {
  readonly services: HttpServices;
  /** The (masking) pino logger; Fastify logs through it. */
  readonly log: FastifyBaseLogger;
  readonly bodyLimitBytes: number;
  readonly requestTimeoutMs: number;
  /** At most this many requests start per turn of the event loop (plumbing/fair-turns.ts). */
  readonly requestsPerTurn?: number;
  /** Origins (the web console's) allowed to call the API from a browser; none by default. */
  readonly corsOrigins: readonly string[];
  /** The deployment's own tenant (`tenant.default_id`): deployment-wide permissions are its credentials' only. */
  readonly homeTenant: string;
  /** Extra readiness checks (database reachable, worker running, not draining). */
  readonly ready: () => Promise<{ ready: boolean; checks: Record<string, boolean> }>;
  /** W3C trace context (and spans, when exported) for every request; none: no trace ids. */
  readonly tracing?: Tracing;
  /** Prometheus metrics at GET /metrics (this server's own registry). */
  readonly metrics?: Metrics;
  /** Request budgets per credential and per source IP (`rate_limit`). */
  readonly rateLimit?: RateLimitSettings;
  /** Which proxies to believe about the client's address (Fastify's `trustProxy`). */
  readonly trustProxy?: boolean | readonly string[];
  /** Serve HTTPS with this certificate and key (PEM); every answer then carries Strict-Transport-Security. */
  readonly tls?: { readonly cert: Buffer | string; readonly key: Buffer | string; readonly hstsMaxAgeSeconds: number };
  /** The MCP server over Streamable HTTP at /mcp. */
  readonly mcp?: McpRoutesOptions;
  /** The embedded payment simulator's pay pages (only when a gateway is the embedded simulator). */
  readonly payerPages?: PayerPages;
  /** The built web console (`dist/web`), served at `/` when its index.html is there. */
  readonly consoleDir?: string;
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's own parse errors, mapped to our stable codes. */
const FASTIFY_ERRORS: Readonly<Record<string, { code: string; detail: string }>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'MALFORMED_JSON', detail: 'the request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'MALFORMED_JSON', detail: 'the request body is empty; send a JSON object' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', detail: 'the request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'send the body as application/json' },
  FST_ERR_BAD_URL: { code: 'VALIDATION_FAILED', detail: 'the URL is malformed' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'VALIDATION_FAILED',
    detail: 'the Content-Length does not match the body',
  },
};

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
    /** The stable code of the problem+json this request was answered with, for the error metrics. */
    problemCode: string | null;
    /** The span this request runs as (absent without tracing). */
    span: RequestSpan | null;
  }
}

const readiness = z.object({ status: z.enum(['ready', 'not_ready']), checks: z.record(z.string(), z.boolean()) });
/** The health routes in the OpenAPI document. */
const HEALTH_DOCS = {
  healthz: {
    summary: 'Alive',
    description: 'The process answers.',
    tags: ['operations'],
    responses: { 200: { description: 'alive', body: z.object({ status: z.literal('ok') }) } },
  },
  readyz: {
    summary: 'Ready for traffic',
    description: 'The database is reachable, the worker runs, and the process is not draining.',
    tags: ['operations'],
    responses: {
      200: { description: 'ready', body: readiness },
      503: { description: 'not ready: `checks` says what is not', body: readiness },
    },
  },
} satisfies Record<string, RouteDoc>;

/** Build the HTTP API. Transport only: parse, call a capability, map the result. */
export function buildHttpServer(opts: HttpServerOptions): FastifyInstance {
  // Over TLS, browsers are told to come back only over TLS (RFC 6797) on every answer, errors included.
  const hsts = opts.tls === undefined ? undefined : `max-age=${opts.tls.hstsMaxAgeSeconds}`;
  // Fastify types an HTTPS server apart; the routes and hooks are the same, so it is used as one.
  const app = Fastify({
    ...(opts.tls === undefined ? {} : { https: { cert: opts.tls.cert, key: opts.tls.key } }),
    loggerInstance: opts.log,
    bodyLimit: opts.bodyLimitBytes,
    requestTimeout: opts.requestTimeoutMs,
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : `req_${randomUUID()}`;
    },
    // One line per request from our onResponse hook (with the request id as trace id), not two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    // Router-level failures (overlong or malformed URLs) get the same problem+json as the rest.
    frameworkErrors: (error, req, reply) => {
      const long = (error as { code?: string }).code === 'FST_ERR_MAX_PARAM_LENGTH';
      // Refused before routing, so before the onRequest hook that sets it on every other answer.
      if (hsts !== undefined) void reply.header('strict-transport-security', hsts);
      void sendProblem(
        reply,
        problem(
          long ? 'URI_TOO_LONG' : 'VALIDATION_FAILED',
          long ? 'a path segment is too long' : 'the URL is malformed',
          req.id,
        ),
      );
    },
    // Node answers a broken or oversized head itself, before any route: problem+json there too.
    clientErrorHandler: clientErrorHandler(hsts),
    return503OnClosing: true,
    ...(opts.trustProxy === undefined || opts.trustProxy === false
      ? {}
      : { trustProxy: opts.trustProxy === true ? true : [...opts.trustProxy] }),
  }) as unknown as FastifyInstance;

  // Every endpoint takes JSON; anything else is 415, not a string body that fails later.
  app.removeContentTypeParser('text/plain');
  registerJsonParser(app);
  app.decorateRequest('caller', null as unknown as Caller);
  app.decorateRequest('problemCode', null);
  app.decorateRequest('span', null);
  const metrics = opts.metrics;
  if (metrics !== undefined || opts.tracing !== undefined) {
    // Every error body is a problem object on its way to the serializer: its code labels the error
    // (in the metrics and on the request's span).
    app.addHook('preSerialization', (req, reply, payload, done) => {
      if (reply.statusCode >= 400) {
        const code = (payload as { code?: unknown } | null)?.code;
        if (typeof code === 'string') req.problemCode = code;
      }
      done(null, payload);
    });
  }
  const tracing = opts.tracing;
  closeQuietConnectionsOnShutdown(app);
  // First of all hooks: a request that waits its turn has done no work yet.
  if (opts.requestsPerTurn !== undefined) startRequestsFairly(app, opts.requestsPerTurn);
  app.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    if (hsts !== undefined) void reply.header('strict-transport-security', hsts);
    if (tracing === undefined) return done();
    // The caller's trace continues here (a malformed traceparent starts a new one); the rest of
    // the request runs inside it, and the answer says where in the trace it was made.
    const header = req.headers.traceparent;
    const span = tracing.startRequest(req.method, typeof header === 'string' ? header : undefined);
    req.span = span;
    void reply.header('traceparent', span.traceparent);
    span.run(done);
  });
  void app.register(fastifyCookie);
  if (opts.corsOrigins.length > 0) {
    // Only the configured origins (the console's), with credentials (cookies); any other origin
    // gets no CORS header at all — not even Allow-Credentials, which a fixed list would send to all.
    const origins = new Set(opts.corsOrigins);
    void app.register(fastifyCors, {
      origin: (origin, cb) => cb(null, origin !== undefined && origins.has(origin) ? origin : false),
      credentials: true,
    });
  }
  // The wrong method and an overlong URL are refused whoever asks; control characters and
  // undeclared fields once the body is read, before any handler.
  registerRequestHygiene(app);
  // A blocked source is refused before anything else; then the request budgets; then every
  // request names who it is (each route's hooks run in that order).
  registerBlockCheck(app, opts.services.abuse);
  if (opts.rateLimit !== undefined) registerRateLimit(app, opts.rateLimit);
  registerAuthentication(app, {
    identity: opts.services.identity,
    // Guessing credentials counts against the source: enough failures block it.
    onRefused: (req) => opts.services.abuse.recordFailure(ipSource(req), 'authentication', req.id),
    homeTenant: opts.homeTenant,
  });
  app.addHook('onResponse', (req, reply, done) => {
    metrics?.requestEnded(
      req.method,
      req.routeOptions.url,
      reply.statusCode,
      reply.elapsedTime / 1000,
      req.problemCode ?? undefined,
    );
    req.span?.end(reply.statusCode, req.routeOptions.url, req.problemCode ?? undefined);
    // The line's fields are not even gathered when info lines are not written (log.level warn).
    if (infoEnabled(req.log))
      req.log.info(
        {
          ...(req.span === null ? {} : { trace_id: req.span.traceId }),
          method: req.method,
          url: req.routeOptions.url ?? req.url,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
          actor: (req.caller as Caller | null)?.actor ?? 'anonymous',
        },
        'request completed',
      );
    done();
  });

  app.setErrorHandler(
    (error: Error & { code?: string; statusCode?: number }, req: FastifyRequest, reply: FastifyReply) => {
      const id = req.id;
      // A refusal thrown by a hook (the rate limiter), already in its final form.
      if (error instanceof ProblemError) return sendProblem(reply, error.problem);
      const mapped = error.code === undefined ? undefined : FASTIFY_ERRORS[error.code];
      if (mapped !== undefined) {
        const detail =
          mapped.code === 'PAYLOAD_TOO_LARGE' ? `the request body exceeds ${opts.bodyLimitBytes} bytes` : mapped.detail;
        return sendProblem(reply, problem(mapped.code, detail, id));
      }
      if (error instanceof SyntaxError || (error.statusCode === 400 && error.code?.startsWith('FST_ERR_CTP'))) {
        return sendProblem(reply, problem('MALFORMED_JSON', 'the request body is not valid JSON', id));
      }
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        return sendProblem(reply, problem('VALIDATION_FAILED', error.message, id, {}, error.statusCode));
      }
      req.log.error({ err: error }, 'unhandled error');
      return sendProblem(
        reply,
        problem('INTERNAL', 'an unexpected error occurred; it has been logged with this request_id', id),
      );
    },
  );

  // The console answers the GETs no route took outside the API (its files and its client routes).
  const consolePages = opts.consoleDir === undefined ? undefined : registerConsolePages(app, opts.consoleDir);
  app.setNotFoundHandler(
    (req, reply) =>
      (consolePages?.owns(req) === true ? consolePages.send(req, reply) : undefined) ??
      sendProblem(reply, problem('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0] ?? ''}`, req.id)),
  );

  const services = opts.services;
  // Each route's OpenAPI description, recorded as it is added (before any route is).
  const documented = collectRouteDocs(app);
  // The routes are a plugin of their own, so they are added after the rate limiter and the
  // authentication have loaded (plugins load in order; a route added directly on `app` now would
  // be added before their hooks exist).
  void app.register((api, _opts, done) => {
    api.get('/healthz', { config: { public: true, openapi: HEALTH_DOCS.healthz } }, () => ({ status: 'ok' }));
    api.get('/readyz', { config: { public: true, openapi: HEALTH_DOCS.readyz } }, async (_req, reply) => {
      const r = await opts.ready();
      return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not_ready', checks: r.checks });
    });
    if (opts.metrics !== undefined) registerMetricsRoute(api, services, opts.metrics);
    registerOpenApiRoutes(api, { document: openApiDocument(documented) });

    registerIdentityRoutes(api, { ...services, homeTenant: opts.homeTenant });
    registerOrderRoutes(api, services);
    registerRefundRoutes(api, services);
    registerPaymentRoutes(api, services);
    registerAbuseRoutes(api, services);
    registerConfirmationRoutes(api, services);
    registerMandateRoutes(api, services);
    registerLedgerRoutes(api, services);
    registerFlagRoutes(api, services);
    registerAuditRoutes(api, services);
    registerWalletRoutes(api, services);
    registerRechargeRoutes(api, services);
    registerBatchRoutes(api, services);
    registerWebhookRoutes(api, services);
    registerReconciliationRoutes(api, services);
    if (services.orderFeed !== undefined) registerOrderEventRoutes(api, { orderFeed: services.orderFeed });
    const { rechargeFeed, batchFeed } = services;
    if (rechargeFeed !== undefined && batchFeed !== undefined)
      registerRechargeEventRoutes(api, { rechargeFeed, batchFeed, batch: services.batch });
    const { reloader } = services;
    if (reloader !== undefined) registerAdminRoutes(api, { reloader });
    const { agent } = services;
    if (agent !== undefined) registerAgentRoutes(api, { agent, idempotency: services.idempotency });
    if (opts.mcp !== undefined) registerMcpRoutes(api, opts.mcp);
    if (opts.payerPages !== undefined) registerPayerPageRoutes(api, opts.payerPages);
    done();
  });
  return app;
}

/** Whether the (pino) logger writes info lines; a logger that cannot say is assumed to. */
function infoEnabled(log: FastifyBaseLogger): boolean {
  return (log as FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('info') ?? true;
}
