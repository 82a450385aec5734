import { seededRandom } from './random.js';

/**
 * Chaos knobs shared by the simulated gateway and merchant. Every probability is drawn from a
 * seeded generator, so a run with the same seed and the same call order behaves the same.
 */
export interface ChaosSettings {
  /** Uniform latency added to every call, in ms. */
  readonly latencyMs: { readonly min: number; readonly max: number };
  /** Probability of a definite business failure (declined payment, merchant refusal). */
  readonly failureRate: number;
  /** Probability of accept-then-hang: the effect happens, the answer is lost (caller sees a timeout). */
  readonly timeoutRate: number;
  /** Probability of a transport error before anything happens (a 5xx: nothing was done). */
  readonly errorRate: number;
  /** How long a lost answer keeps the caller waiting before the simulated timeout fires, in ms. */
  readonly hangMs: number;
}

export const NO_CHAOS: ChaosSettings = {
  latencyMs: { min: 0, max: 0 },
  failureRate: 0,
  timeoutRate: 0,
  errorRate: 0,
  hangMs: 0,
};

export type ChaosDraw = 'ok' | 'fail' | 'timeout' | 'error';

/** Waits `ms`; the real timer by default, a virtual clock in simulations that run on simulated time. */
export type Sleep = (ms: number) => Promise<void>;

const realSleep: Sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Chaos {
  private settings: ChaosSettings;
  private readonly random: () => number;
  /** Calls that will never be answered at all (the process "dies" waiting): for crash tests. */
  private freezeNext = 0;
  private readonly frozen: Array<() => void> = [];

  constructor(
    settings: Partial<ChaosSettings> = {},
    seed = 42,
    private readonly sleep: Sleep = realSleep,
  ) {
    this.settings = { ...NO_CHAOS, ...settings };
    this.random = seededRandom(seed);
  }

  set(settings: Partial<ChaosSettings>): void {
    this.settings = { ...this.settings, ...settings };
  }

  get current(): ChaosSettings {
    return this.settings;
  }

  /** The next `n` calls do their effect and then never answer (until `thaw`). */
  freeze(n: number): void {
    this.freezeNext = n;
  }

  /** Release frozen calls: they reject as timeouts. */
  thaw(): void {
    this.freezeNext = 0;
    for (const release of this.frozen.splice(0)) release();
  }

  draw(): ChaosDraw {
    const s = this.settings;
    const r = this.random();
    if (r < s.errorRate) return 'error';
    if (r < s.errorRate + s.timeoutRate) return 'timeout';
    if (r < s.errorRate + s.timeoutRate + s.failureRate) return 'fail';
    return 'ok';
  }

  /** One latency draw, in ms, without waiting (for callers that race it against a timeout). */
  drawLatencyMs(): number {
    const { min, max } = this.settings.latencyMs;
    return min + (max - min) * this.random();
  }

  async latency(): Promise<void> {
    const ms = this.drawLatencyMs();
    if (ms > 0) await this.sleep(ms);
  }

  /** Either never settle (frozen) or wait `hangMs` and let the caller throw its timeout. */
  async hang(): Promise<void> {
    if (this.freezeNext > 0) {
      this.freezeNext -= 1;
      await new Promise<void>((resolve) => this.frozen.push(resolve));
      return;
    }
    if (this.settings.hangMs > 0) await this.sleep(this.settings.hangMs);
  }

  get shouldFreeze(): boolean {
    return this.freezeNext > 0;
  }
}
