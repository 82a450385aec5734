import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import iconv from 'iconv-lite';
import { type OperatorId, rechargeTarget } from '../domain/recharge/number-segments.js';
import { Chaos, type ChaosSettings } from './chaos.js';
import { formatShanghaiTime, isBusinessDate, shanghaiDate } from '../domain/statements/shanghai-time.js';
import type { SimulatedCarriers } from './simulated-carriers.js';

/**
 * A Juhe-style top-up aggregator over real HTTP, for tests and demos: telcheck, onlineorder,
 * ordersta, yue, signed callbacks, the chaos knobs, and the shared carriers' ground truth.
 * Written from PROTOCOLS.md independently of the adapter, so each checks the other. Where
 * Juhe's real error codes are not known, the codes below are this simulator's own.
 */
export const SIM_CODES = {
  badKey: 10001,
  overQuota: 10012,
  internal: 10014,
  badPhone: 208501,
  badCardnum: 208502,
  badOrderId: 208503,
  badSign: 208516,
  notFound: 208517,
  duplicate: 208518,
} as const;

export interface JuheSimulatorOptions {
  readonly appKey: string;
  readonly openId: string;
  readonly carriers: SimulatedCarriers;
  /** Name under which top-ups appear in the ground truth. */
  readonly name?: string;
  /**
   * `failureRate`: orders end in game_state 9; `timeoutRate`: accepted but the answer is held
   * `hangMs`; `errorRate`: 503, nothing done.
   */
  readonly chaos?: Partial<ChaosSettings>;
  readonly seed?: number;
  /** Time from accepted (game_state 0) to 1 or 9. */
  readonly processingMs?: { readonly min: number; readonly max: number };
  /** Where signed results are POSTed (form-encoded); retried until the answer is "success". */
  readonly callbackUrl?: string;
  readonly callbackAttempts?: number;
  /** Chaos on callbacks: send every genuine one this many extra times (a channel re-sending). */
  readonly callbackDuplicates?: number;
  /** Chaos on callbacks: before each genuine one, an attacker's copy with the opposite result and a wrong signature. */
  readonly forgeCallbacks?: boolean;
  readonly faceValuesYuan?: readonly number[];
  readonly balanceFen?: number;
  /** Charset of answers about a number of this operator (Unicom answers in GBK by default). */
  readonly encodings?: Partial<Record<OperatorId, 'utf-8' | 'gbk'>>;
  /** Say the charset in Content-Type (false: the client must know it from its configuration). */
  readonly declareCharset?: boolean;
  readonly now?: () => number;
}

interface SimOrder {
  readonly orderid: string;
  readonly sporderId: string;
  readonly phone: string;
  readonly cardnum: number;
  readonly encoding: 'utf-8' | 'gbk';
  gameState: '0' | '1' | '9';
  /** When it was placed, and when it reached 1 or 9 (ms): what puts it on a day's order list. */
  readonly placedAt: number;
  endedAt?: number;
}

/** One answer of the simulator, for whichever HTTP server carries it (its own, or a face of the standalone one). */
export interface JuheAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | string;
}

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class JuheSimulator {
  readonly chaos: Chaos;
  readonly orders = new Map<string, SimOrder>();
  readonly calls: Record<string, number> = {};
  /** Callback deliveries: what was sent, what the receiver answered, and whether it was a forgery. */
  readonly callbacks: Array<{
    readonly params: Record<string, string>;
    readonly reply: string;
    readonly status?: number;
    readonly forged?: boolean;
  }> = [];
  /** Where results go; may be set after construction (the receiver's port is often known later). */
  callbackUrl: string | undefined;
  /**
   * Chaos: the key is over its quota, and `onlineorder` answers 10012 (请求超过次数限制) before
   * doing anything, as Juhe turns a request away at the platform (ordersta still answers).
   */
  overQuota = false;
  private server: http.Server | undefined;
  private readonly processing: Chaos;
  private balance: number;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly options: JuheSimulatorOptions) {
    this.chaos = new Chaos(options.chaos ?? {}, options.seed ?? 42);
    this.processing = new Chaos({ latencyMs: options.processingMs ?? { min: 0, max: 0 } }, (options.seed ?? 42) + 1);
    this.balance = options.balanceFen ?? 100_000_000;
    // Orders that reached a phone before a restart are known again (from the carriers' journal):
    // asked about, they answer "succeeded", and resent, "duplicate" — never a second top-up.
    const name = options.name ?? 'juhe';
    for (const t of options.carriers.groundTruth) {
      if (t.channel !== name || this.orders.has(t.orderId)) continue;
      const target = this.target(t.phone);
      this.orders.set(t.orderId, {
        orderid: t.orderId,
        sporderId: `J${String(this.orders.size + 1).padStart(12, '0')}`,
        phone: t.phone,
        cardnum: t.amount.amount / 100,
        encoding: target?.encoding ?? 'utf-8',
        gameState: '1',
        placedAt: t.at,
        endedAt: t.at,
      });
    }
    this.callbackUrl = options.callbackUrl;
  }

  /** Listen on its own server (port 0 = any free port) and return the base URL for the adapter. */
  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = http.createServer((req, res) => {
      void this.track(
        this.handle(req, res).catch(() => {
          res.destroy();
        }),
      );
    });
    server.keepAliveTimeout = 5000;
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    const addr = server.address() as AddressInfo;
    return `http://${host}:${addr.port}/ofpay/mobile/`;
  }

  /** Stop listening and wait for held answers and callbacks in flight. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await Promise.allSettled([...this.pending]);
  }

  /** The carrier's side of the chaos: refused top-ups (game_state 9) and time to settle an order. */
  setCarrierChaos(c: {
    readonly failureRate: number;
    readonly processingMs: { readonly min: number; readonly max: number };
  }): void {
    this.chaos.set({ failureRate: c.failureRate });
    this.processing.set({ latencyMs: c.processingMs });
  }

  /** Wait until every callback and processing timer has run (tests). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const done = (): void => void this.pending.delete(p);
    p.then(done, done);
    return p;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const a = await this.answer(
      url.pathname.split('/').pop() ?? '',
      url.search.slice(1),
      String(req.headers['accept-charset'] ?? ''),
    );
    if (res.destroyed) return;
    res.writeHead(a.status, { ...a.headers, 'content-length': String(Buffer.byteLength(a.body)) }).end(a.body);
  }

  /**
   * Answer one call: `method` is the last path segment (telcheck, onlineorder, ordersta, yue),
   * `search` the raw query string, whose percent-escapes are bytes in the charset the client
   * names first in Accept-Charset.
   */
  answer(method: string, search: string, acceptCharset: string): Promise<JuheAnswer> | JuheAnswer {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    const charset = /gbk/i.test(acceptCharset.split(',')[0] ?? '') ? 'gbk' : 'utf-8';
    const params = decodeQuery(search, charset);
    if (params.key !== this.options.appKey) return this.reply('utf-8', SIM_CODES.badKey, '错误的请求KEY', null);
    switch (method) {
      case 'telcheck':
        return this.telcheck(params);
      case 'onlineorder':
        return this.track(this.onlineorder(params));
      case 'ordersta':
        return this.ordersta(params);
      case 'yue':
        return this.yue(params);
      case 'orderlist':
        return this.orderlist(params);
      default:
        return { status: 404, headers: {}, body: '' };
    }
  }

  private target(phone: string | undefined): { operator: OperatorId; encoding: 'utf-8' | 'gbk' } | undefined {
    const t = rechargeTarget(phone ?? '');
    if (!t.ok || t.value.number !== phone) return undefined;
    const encodings = this.options.encodings ?? { CHINA_UNICOM: 'gbk' };
    return { operator: t.value.operator, encoding: encodings[t.value.operator] ?? 'utf-8' };
  }

  private offered(cardnum: string | undefined): number | undefined {
    const n = Number(cardnum);
    const values = this.options.faceValuesYuan ?? [10, 20, 30, 50, 100, 200, 300, 500];
    return /^\d+$/.test(cardnum ?? '') && values.includes(n) ? n : undefined;
  }

  private telcheck(p: Record<string, string>): JuheAnswer {
    const t = this.target(p.phoneno);
    if (t === undefined) return this.reply('utf-8', SIM_CODES.badPhone, '手机号码格式错误或暂不支持', null);
    if (this.offered(p.cardnum) === undefined)
      return this.reply(t.encoding, SIM_CODES.badCardnum, '暂不支持该面值', null);
    return this.reply(t.encoding, 0, '允许充值的手机号码及金额', null);
  }

  private async onlineorder(p: Record<string, string>): Promise<JuheAnswer> {
    const { phoneno, cardnum, orderid, sign } = p;
    if (this.overQuota) return this.reply('utf-8', SIM_CODES.overQuota, '请求超过次数限制', null);
    await this.chaos.latency();
    const draw = this.chaos.draw();
    if (draw === 'error')
      return { status: 503, headers: { 'content-type': 'text/plain' }, body: 'service unavailable' };
    const t = this.target(phoneno);
    if (t === undefined || phoneno === undefined)
      return this.reply('utf-8', SIM_CODES.badPhone, '手机号码格式错误或暂不支持', null);
    const face = this.offered(cardnum);
    if (face === undefined) return this.reply(t.encoding, SIM_CODES.badCardnum, '暂不支持该面值', null);
    if (orderid === undefined || !/^[A-Za-z0-9]{8,32}$/.test(orderid))
      return this.reply(t.encoding, SIM_CODES.badOrderId, '商家订单号格式错误', null);
    if (sign !== md5(this.options.openId + this.options.appKey + phoneno + String(cardnum) + orderid)) {
      return this.reply(t.encoding, SIM_CODES.badSign, '校验值sign错误', null);
    }
    if (this.orders.has(orderid)) return this.reply(t.encoding, SIM_CODES.duplicate, '商家订单号重复', null);
    const order: SimOrder = {
      orderid,
      sporderId: `J${String(this.orders.size + 1).padStart(12, '0')}`,
      phone: phoneno,
      cardnum: face,
      encoding: t.encoding,
      gameState: '0',
      placedAt: (this.options.now ?? Date.now)(),
    };
    this.orders.set(orderid, order);
    const refuse = draw === 'fail';
    const delay = this.processing.drawLatencyMs();
    if (delay <= 0) this.settle(order, refuse);
    else void this.track(sleep(delay).then(() => this.settle(order, refuse)));
    const result = {
      cardid: String(face),
      cardnum: '1',
      ordercash: face.toFixed(2),
      cardname: `${face}元话费`,
      sporder_id: order.sporderId,
      uorderid: orderid,
      game_userid: phoneno,
      game_state: '0',
    };
    // Accept-then-hang: the order exists, the answer comes too late for the client.
    if (draw === 'timeout') await this.chaos.hang();
    return this.reply(t.encoding, 0, '订单提交成功，等待充值', result);
  }

  private ordersta(p: Record<string, string>): JuheAnswer {
    const order = this.orders.get(p.orderid ?? '');
    if (order === undefined) return this.reply('utf-8', SIM_CODES.notFound, '订单不存在', null);
    return this.reply(order.encoding, 0, '查询成功', {
      uordercash: order.cardnum.toFixed(2),
      sporder_id: order.sporderId,
      game_state: order.gameState,
    });
  }

  /**
   * The day's order list (`orderlist?key&date=YYYY-MM-DD`): orders that ended that day
   * (Asia/Shanghai), and orders placed that day still 充值中. Juhe's real orderlist parameters
   * and layout are UNCONFIRMED; the fields are those of its other answers.
   */
  private orderlist(p: Record<string, string>): JuheAnswer {
    const date = p.date ?? '';
    if (!isBusinessDate(date)) return this.reply('utf-8', SIM_CODES.badOrderId, '日期格式错误', null);
    const day = [...this.orders.values()].filter((o) => shanghaiDate(o.endedAt ?? o.placedAt) === date);
    return this.reply(
      'utf-8',
      0,
      '查询成功',
      day.map((o) => ({
        uorderid: o.orderid,
        sporder_id: o.sporderId,
        cardnum: String(o.cardnum),
        uordercash: o.cardnum.toFixed(2),
        game_state: o.gameState,
        order_time: formatShanghaiTime(o.endedAt ?? o.placedAt),
      })),
    );
  }

  private yue(p: Record<string, string>): JuheAnswer {
    if (p.sign !== md5(this.options.openId + this.options.appKey + String(p.timestamp)))
      return this.reply('utf-8', SIM_CODES.badSign, '校验值sign错误', null);
    return this.reply('utf-8', 0, '查询成功', { uid: 'sim', money: (this.balance / 100).toFixed(2) });
  }

  private settle(order: SimOrder, refuse: boolean): void {
    if (order.gameState !== '0') return;
    order.endedAt = (this.options.now ?? Date.now)();
    if (refuse) {
      order.gameState = '9';
    } else {
      this.balance -= order.cardnum * 100;
      this.options.carriers.topUp({
        orderId: order.orderid,
        channel: this.options.name ?? 'juhe',
        phone: order.phone,
        amount: { amount: order.cardnum * 100, currency: 'CNY' },
        at: (this.options.now ?? Date.now)(),
      });
      order.gameState = '1';
    }
    if (this.callbackUrl !== undefined) void this.track(this.callback(order, this.callbackUrl));
  }

  private async callback(order: SimOrder, url: string): Promise<void> {
    const params: Record<string, string> = {
      sporder_id: order.sporderId,
      orderid: order.orderid,
      sta: order.gameState,
      sign: md5(this.options.appKey + order.sporderId + order.orderid),
      err_msg: order.gameState === '9' ? '充值失败' : '',
    };
    if (this.options.forgeCallbacks === true) {
      // Juhe's signature does not cover `sta`: a forger must also guess the key, which it cannot.
      const forged = {
        ...params,
        sta: order.gameState === '1' ? '9' : '1',
        sign: md5(`not-the-key${order.sporderId}${order.orderid}`),
      };
      await this.post(url, forged, true);
    }
    for (let copy = 0; copy <= (this.options.callbackDuplicates ?? 0); copy += 1) {
      for (let attempt = 0; attempt < (this.options.callbackAttempts ?? 3); attempt += 1) {
        if ((await this.post(url, params, false)) === 'success') break;
        await sleep(100 * 2 ** attempt);
      }
    }
  }

  /** One delivery; returns the receiver's answer body (trimmed). */
  private async post(url: string, params: Record<string, string>, forged: boolean): Promise<string> {
    try {
      const r = await fetch(url, {
        method: 'POST',
        body: new URLSearchParams(params),
        signal: AbortSignal.timeout(2000),
      });
      const reply = (await r.text()).trim();
      this.callbacks.push({ params, reply, status: r.status, ...(forged ? { forged } : {}) });
      return reply;
    } catch {
      this.callbacks.push({ params, reply: '(no answer)', ...(forged ? { forged } : {}) });
      return '(no answer)';
    }
  }

  private reply(encoding: 'utf-8' | 'gbk', code: number, reason: string, result: unknown): JuheAnswer {
    const body = iconv.encode(JSON.stringify({ reason, result, error_code: code }), encoding);
    const type =
      this.options.declareCharset === false
        ? 'application/json'
        : `application/json; charset=${encoding === 'gbk' ? 'GBK' : 'utf-8'}`;
    return { status: 200, headers: { 'content-type': type }, body };
  }
}

/** Parse a query string whose percent-escapes are bytes in `charset`. */
function decodeQuery(search: string, charset: 'utf-8' | 'gbk'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of search.split('&')) {
    if (pair === '') continue;
    const [k = '', v = ''] = pair.split('=');
    const key = bytesToText(k, charset);
    if (key === '__proto__') continue;
    out[key] = bytesToText(v, charset);
  }
  return out;
}

function bytesToText(escaped: string, charset: 'utf-8' | 'gbk'): string {
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; i += 1) {
    const c = escaped[i];
    if (c === '%' && /^[0-9A-Fa-f]{2}$/.test(escaped.slice(i + 1, i + 3))) {
      bytes.push(parseInt(escaped.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === '+') {
      bytes.push(0x20);
    } else {
      bytes.push(...Buffer.from(c ?? '', 'utf8'));
    }
  }
  return iconv.decode(Buffer.from(bytes), charset);
}
