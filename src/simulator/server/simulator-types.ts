import type { FastifyInstance } from 'fastify';
import type { Notifier, NotifierRetry, OutgoingNotification } from '../notifier.js';
import type { SimPayPages } from '../pay-pages.js';
import type { SimEvent, SimulatedGateway } from '../simulated-gateway.js';
import type { SimulatedMerchant } from '../simulated-merchant.js';
import type { HttpChaos, HttpChaosInput, HttpChaosSettings } from './http-chaos.js';

/** What every face gets: the one order book, the coffee shop, the clock. */
export interface FaceContext {
  /**
   * The shared order book. Trades a face creates through it are remembered as that face's, so
   * their callbacks go out in that face's protocol.
   */
  readonly bank: SimulatedGateway;
  readonly merchant: SimulatedMerchant;
  readonly now: () => number;
  /** Where a face keeps (and prints) the keys a service needs to talk to it, when standalone. */
  readonly keysDir: string | undefined;
}

/**
 * A protocol the simulator speaks over HTTP (native JSON, Alipay, WeChat Pay…): its routes,
 * registered in their own Fastify scope (content-type parsers and hooks stay local), and how
 * it formats callbacks for the trades it created.
 */
export interface SimulatorFace {
  readonly name: string;
  register(app: FastifyInstance, ctx: FaceContext): void | Promise<void>;
  readonly notifications?: {
    /** The signed callback for an event, as this protocol sends it. */
    format(e: SimEvent): OutgoingNotification | Promise<OutgoingNotification>;
    /**
     * Payment methods whose callbacks this face sends when the trade's creator is not known
     * (e.g. a trade replayed from the journal after a restart).
     */
    readonly methods?: readonly string[];
    /** A wrongly signed copy, for the wrong-signature chaos (default: `forgeSignature`). */
    forge?(n: OutgoingNotification): OutgoingNotification;
  };
  /** The face's own share of a chaos document (e.g. the carriers' refusals), applied with the rest. */
  onChaos?(settings: HttpChaosSettings): void;
}

export interface SimulatorServerOptions {
  readonly bank: SimulatedGateway;
  readonly merchant: SimulatedMerchant;
  readonly faces: readonly SimulatorFace[];
  readonly chaos?: HttpChaosInput;
  /** Seeds the HTTP chaos and the notifiers (default 42). */
  readonly seed?: number;
  readonly host?: string;
  readonly port?: number;
  readonly now?: () => number;
  readonly keysDir?: string;
  readonly notifyRetry?: Partial<NotifierRetry>;
  readonly notifyTimeoutMs?: number;
  /** Fastify's logger (default off: the simulator is quiet unless asked). */
  readonly logger?: boolean;
  /**
   * Serve the pay pages of the order book's waiting trades at `/_sim/pay/:page` (the `pay_url`
   * the bank hands out should name them: `payPageUrl: (no) => pages.url(server.url, no)`).
   */
  readonly payPages?: SimPayPages;
}

export interface SimulatorStats {
  readonly connections: { readonly total: number; readonly open: number };
  readonly requests: { readonly total: number; readonly byStatus: Readonly<Record<string, number>> };
  readonly chaos: { readonly errors: number; readonly rate_limited: number; readonly hangs: number };
}

export interface SimulatorServer {
  readonly app: FastifyInstance;
  /** Base URL once listening (empty before `listen`). */
  readonly url: string;
  readonly chaos: HttpChaos;
  /** One callback dispatcher per face that sends callbacks, by face name. */
  readonly notifiers: ReadonlyMap<string, Notifier>;
  /** Validate and apply a chaos document for the run (throws a ZodError when invalid). */
  setChaos(input: unknown): HttpChaosSettings;
  stats(): SimulatorStats;
  listen(): Promise<string>;
  close(): Promise<void>;
}
