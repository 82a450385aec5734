import type { OperatorId } from '../../domain/recharge/number-segments.js';
import { err, ok, type Result } from '../../domain/result.js';
import {
  type BreakerSettings,
  type BreakerState,
  breakerAdmission,
  breakerOnResult,
  breakerProbeSent,
  breakerView,
  CLOSED,
  DEFAULT_BREAKER_SETTINGS,
} from '../../domain/routing/circuit-breaker.js';
import {
  type Candidate,
  DEFAULT_SCORE_SETTINGS,
  pickCandidate,
  type RoutingStrategy,
  type ScoreSettings,
  scoreCandidates,
} from '../../domain/routing/channel-score.js';
import {
  type CallOutcome,
  type CallSample,
  DEFAULT_WINDOW_SETTINGS,
  pruneWindow,
  recordSample,
  type WindowSettings,
  type WindowStats,
  windowStats,
} from '../../domain/routing/channel-window.js';
import {
  ChannelHistory,
  type ChannelMoment,
  DEFAULT_HISTORY_SETTINGS,
  type HistoryBucket,
  type HistorySettings,
} from '../../domain/routing/channel-history.js';
import type { Clock } from '../../ports/clock.js';
import type { RoutingObserver } from '../../ports/routing-observer.js';

/** A channel as routing knows it. */
export interface RoutedChannel {
  readonly name: string;
  readonly operators: readonly OperatorId[];
  /** Calls it should have in flight at most; the load term of the score is measured against it. */
  readonly capacity: number;
}

export interface RouterSettings {
  readonly strategy: RoutingStrategy;
  readonly score: ScoreSettings;
  readonly window: WindowSettings;
  readonly breaker: BreakerSettings;
}

export const DEFAULT_ROUTER_SETTINGS: RouterSettings = {
  strategy: 'smart',
  score: DEFAULT_SCORE_SETTINGS,
  window: DEFAULT_WINDOW_SETTINGS,
  breaker: DEFAULT_BREAKER_SETTINGS,
};

/** A call routed to a channel; hand it back to `complete` when the call's fate is known. */
export interface Dispatch {
  readonly channel: string;
  readonly operator: OperatorId;
  readonly startedAt: number;
  /** This call is the half-open breaker's probe. */
  readonly probe: boolean;
}

/** What GET /api/v1/channels and the metrics show about a channel. */
export interface ChannelHealth {
  readonly channel: string;
  readonly operators: readonly OperatorId[];
  readonly breaker: BreakerState;
  readonly inFlight: number;
  /** Calls in flight this instance allows: the channel's capacity, or its share when several instances route. */
  readonly capacity: number;
  readonly window: WindowStats;
  /** Smart-routing score (0–1) among the channels serving each operator. */
  readonly scores: Partial<Record<OperatorId, number>>;
  /**
   * The share of each operator's next calls routing would give it now (0–1): its weight among the
   * channels serving the operator whose breaker lets calls through (score^sharpness for smart
   * routing, equal shares for round-robin and random).
   */
  readonly shares: Partial<Record<OperatorId, number>>;
  /** Calls routed to it since start. */
  readonly routed: number;
}

/** A channel's bounded history (GET /api/v1/channels/history). */
export interface ChannelTimeline {
  readonly channel: string;
  readonly buckets: readonly HistoryBucket[];
}

interface ChannelState {
  readonly channel: RoutedChannel;
  readonly history: ChannelHistory;
  samples: readonly CallSample[];
  breaker: BreakerState;
  inFlight: number;
  routed: number;
}

/**
 * Chooses a channel for each recharge attempt and learns from the outcomes: a sliding window
 * of latency and success per channel, in-flight load, and a circuit breaker per channel. Time
 * and randomness are injected, so a seeded simulation routes the same way every run.
 */
export class ChannelRouter {
  private readonly states = new Map<string, ChannelState>();
  private readonly turns = new Map<OperatorId, number>();
  /** Instances sharing the channels (this one included): each keeps to its share of their capacity. */
  private instances = 1;

  constructor(
    channels: readonly RoutedChannel[],
    private readonly settings: RouterSettings,
    private readonly deps: {
      readonly clock: Pick<Clock, 'now'>;
      readonly random: () => number;
      readonly observer?: RoutingObserver;
    },
    private readonly historySettings: HistorySettings = DEFAULT_HISTORY_SETTINGS,
  ) {
    for (const channel of channels) {
      if (this.states.has(channel.name)) throw new Error(`duplicate recharge channel name ${channel.name}`);
      this.states.set(channel.name, {
        channel,
        history: new ChannelHistory(historySettings),
        samples: [],
        breaker: CLOSED,
        inFlight: 0,
        routed: 0,
      });
    }
  }

  /**
   * How many instances route to these channels now, this one included (several on one database):
   * a channel's capacity is the channel's, so each keeps to an equal share of it (rounded down, at
   * least one call).
   */
  setInstances(n: number): void {
    this.instances = Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
  }

  /** Calls this instance may have in flight on the channel: its share of the channel's capacity. */
  private capacityHere(state: ChannelState): number {
    return Math.max(1, Math.floor(state.channel.capacity / this.instances));
  }

  /** The bucket length of the history, in ms. */
  get historyBucketMs(): number {
    return this.historySettings.bucketMs;
  }

  get strategy(): RoutingStrategy {
    return this.settings.strategy;
  }

  /**
   * Pick a channel for `operator`, skipping `exclude` (channels this recharge already tried) and
   * channels whose breaker is open. `NO_CHANNEL_AVAILABLE` when none is left.
   */
  route(operator: OperatorId, exclude: ReadonlySet<string> = new Set()): Result<Dispatch> {
    const now = this.deps.clock.now();
    const eligible: Array<{ state: ChannelState; probe: boolean }> = [];
    let serving = 0;
    for (const state of this.states.values()) {
      if (!state.channel.operators.includes(operator)) continue;
      serving += 1;
      if (exclude.has(state.channel.name)) continue;
      const admission = breakerAdmission(state.breaker, now, this.settings.breaker);
      if (admission !== 'deny') eligible.push({ state, probe: admission === 'probe' });
    }
    if (eligible.length === 0) {
      return err('NO_CHANNEL_AVAILABLE', `no recharge channel can take a ${operator} number now`, {
        operator,
        channels_serving: serving,
        excluded: [...exclude],
      });
    }
    // A bulkhead: a channel never gets more calls at once than its capacity. Past it a channel
    // turns calls away (CHANNEL_BUSY), and those refusals, counted as failures, opened the
    // breaker of a healthy channel under a batch (128 jobs at once over two channels of 50).
    // With several instances each keeps to its share, so together they stay within the capacity.
    const free = eligible.filter((e) => e.probe || e.state.inFlight < this.capacityHere(e.state));
    if (free.length === 0) {
      return err('NO_CHANNEL_AVAILABLE', `every recharge channel for ${operator} is at its capacity; wait for a slot`, {
        operator,
        channels_serving: serving,
        excluded: [...exclude],
        saturated: true,
      });
    }
    eligible.splice(0, eligible.length, ...free);
    // A channel whose cool-down is over gets its probe before anything else: that is how it returns.
    const probe = eligible.find((e) => e.probe);
    let chosen: { state: ChannelState; probe: boolean };
    if (probe !== undefined) {
      chosen = probe;
    } else {
      const turn = this.turns.get(operator) ?? 0;
      this.turns.set(operator, turn + 1);
      const idx = pickCandidate(
        this.settings.strategy,
        eligible.map((e) => this.candidate(e.state, now)),
        this.settings.score,
        this.deps.random(),
        turn,
      );
      chosen = eligible[idx] ?? eligible[0]!;
    }
    const { state } = chosen;
    // The quiet stretch before this call is history as it was: recorded before the call changes it.
    state.history.roll(now, this.moment(state, now));
    if (chosen.probe) state.breaker = breakerProbeSent();
    state.inFlight += 1;
    state.routed += 1;
    state.history.routed(now, this.moment(state, now));
    if (exclude.size > 0) this.deps.observer?.failedOver(state.channel.name, operator);
    return ok({ channel: state.channel.name, operator, startedAt: now, probe: chosen.probe });
  }

  /** The routed call ended: success, a definite failure, or a timeout (unknown outcome). */
  complete(dispatch: Dispatch, outcome: CallOutcome): void {
    const state = this.states.get(dispatch.channel);
    if (state === undefined) return;
    const now = this.deps.clock.now();
    state.history.roll(now, this.moment(state, now));
    state.inFlight = Math.max(0, state.inFlight - 1);
    this.deps.observer?.callEnded(dispatch.channel, outcome);
    state.samples = recordSample(
      state.samples,
      { at: now, latencyMs: now - dispatch.startedAt, outcome },
      this.settings.window,
    );
    const before = state.breaker;
    const after = breakerOnResult(
      before,
      outcome,
      dispatch.probe,
      windowStats(state.samples, false),
      now,
      this.settings.breaker,
    );
    state.breaker = after;
    state.history.ended(now, now - dispatch.startedAt, outcome, this.moment(state, now));
    if (after.state === 'open' && before.state !== 'open')
      this.deps.observer?.breakerChanged?.(dispatch.channel, 'open', after.reason);
    else if (after.state === 'closed' && before.state !== 'closed')
      this.deps.observer?.breakerChanged?.(dispatch.channel, 'closed');
    // Back from half-open: judge the channel on what it does from now on, not on the failures that opened it.
    if (before.state === 'half_open' && after.state === 'closed') state.samples = [];
  }

  /** Each channel's buckets after `since` (ms since epoch), oldest first, the open one last. */
  history(since?: number): ChannelTimeline[] {
    const now = this.deps.clock.now();
    return [...this.states.values()].map((s) => ({
      channel: s.channel.name,
      buckets: s.history.buckets(now, this.moment(s, now), since),
    }));
  }

  health(): ChannelHealth[] {
    const now = this.deps.clock.now();
    const { scores, shares } = this.weigh(now);
    return [...this.states.values()].map((s) => ({
      channel: s.channel.name,
      operators: s.channel.operators,
      breaker: breakerView(s.breaker, now, this.settings.breaker),
      inFlight: s.inFlight,
      capacity: this.capacityHere(s),
      window: windowStats(pruneWindow(s.samples, now, this.settings.window)),
      scores: scores.get(s.channel.name) ?? {},
      shares: shares.get(s.channel.name) ?? {},
      routed: s.routed,
    }));
  }

  /** The routing weights of the score (latency, success, load) and the strategy. */
  get weights(): {
    readonly strategy: RoutingStrategy;
    readonly score: ScoreSettings['weights'];
    readonly sharpness: number;
  } {
    return {
      strategy: this.settings.strategy,
      score: this.settings.score.weights,
      sharpness: this.settings.score.sharpness,
    };
  }

  /** Every channel's score and share of the next calls, among the channels serving each operator. */
  private weigh(now: number): {
    scores: Map<string, Partial<Record<OperatorId, number>>>;
    shares: Map<string, Partial<Record<OperatorId, number>>>;
  } {
    const scores = new Map<string, Partial<Record<OperatorId, number>>>();
    const shares = new Map<string, Partial<Record<OperatorId, number>>>();
    const operators = new Set<OperatorId>();
    for (const s of this.states.values()) for (const o of s.channel.operators) operators.add(o);
    for (const operator of operators) {
      const peers = [...this.states.values()].filter((s) => s.channel.operators.includes(operator));
      const scored = scoreCandidates(
        peers.map((s) => this.candidate(s, now)),
        this.settings.score,
      );
      const weight = scored.map((sc, i) => {
        if (breakerAdmission(peers[i]!.breaker, now, this.settings.breaker) === 'deny') return 0;
        return this.settings.strategy === 'smart' ? Math.pow(Math.max(0, sc.score), this.settings.score.sharpness) : 1;
      });
      const sum = weight.reduce((a, b) => a + b, 0);
      scored.forEach((sc, i) => {
        scores.set(sc.channel, { ...scores.get(sc.channel), [operator]: sc.score });
        shares.set(sc.channel, { ...shares.get(sc.channel), [operator]: sum <= 0 ? 0 : (weight[i] ?? 0) / sum });
      });
    }
    return { scores, shares };
  }

  private moment(state: ChannelState, now: number): ChannelMoment {
    const breaker = state.breaker;
    return {
      breakerAt: (t) => breakerView(breaker, t, this.settings.breaker).state,
      inFlight: state.inFlight,
      capacity: this.capacityHere(state),
      scores: () => this.weigh(now).scores.get(state.channel.name) ?? {},
    };
  }

  private candidate(state: ChannelState, now: number): Candidate {
    state.samples = pruneWindow(state.samples, now, this.settings.window);
    return {
      channel: state.channel.name,
      stats: windowStats(state.samples, false),
      inFlight: state.inFlight,
      capacity: this.capacityHere(state),
    };
  }
}
