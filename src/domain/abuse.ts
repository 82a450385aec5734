/**
 * Abuse: what counts against a source (an IP address, a credential), and when a source is blocked.
 * Pure: the counting itself lives behind a port, the block rows in storage.
 */

/** What a source did wrong: each is reported by the code that saw it. */
export const FAILURE_KINDS = ['authentication', 'forged_callback', 'mandate_violation'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** A source's failures within the window, per kind. */
export type FailureCounts = Readonly<Record<FailureKind, number>>;

export const NO_FAILURES: FailureCounts = { authentication: 0, forged_callback: 0, mandate_violation: 0 };

export function isFailureKind(v: unknown): v is FailureKind {
  return typeof v === 'string' && (FAILURE_KINDS as readonly string[]).includes(v);
}

/** Why a source is blocked: one kind of failure tipped it over, or a person blocked it by hand. */
export const BLOCK_KINDS = [...FAILURE_KINDS, 'manual'] as const;
export type BlockKind = (typeof BLOCK_KINDS)[number];

export function isBlockKind(v: unknown): v is BlockKind {
  return typeof v === 'string' && (BLOCK_KINDS as readonly string[]).includes(v);
}

/** The longest block a person may set by hand (30 days); automatic blocks follow the policy. */
export const MAX_MANUAL_BLOCK_MS = 30 * 86_400_000;

export function totalFailures(counts: FailureCounts): number {
  return FAILURE_KINDS.reduce((sum, k) => sum + counts[k], 0);
}

/** When failures turn into a block. */
export interface BlockPolicy {
  /** A source with MORE than this many failures (of any kind) within the window is blocked. */
  readonly threshold: number;
  readonly windowMs: number;
  /** How long a block lasts unless lifted earlier. */
  readonly durationMs: number;
}

/** Whether these failures (within the window) block the source. */
export function crossesThreshold(counts: FailureCounts, policy: BlockPolicy): boolean {
  return totalFailures(counts) > policy.threshold;
}

/**
 * A source as the blocks and the counters key it: `ip:<address>` or `credential:<hash>` (never the
 * credential itself). Opaque to the application; the transport that sees the request builds it.
 */
export type Source = string;
