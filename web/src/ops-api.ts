/** The operations screens' view of the API (recharges, wallet, batches, channels). */

export interface Recharge {
  readonly id: string;
  readonly status: string;
  readonly user_id: string;
  readonly batch_id: string | null;
  readonly phone: string;
  readonly operator: string;
  readonly amount: number;
  readonly currency: string;
  readonly channel: string | null;
  readonly attempt: number;
  readonly attempts: ReadonlyArray<{
    readonly channel: string;
    readonly order_id: string;
    readonly channel_order_id: string | null;
    readonly failure: string | null;
  }>;
  readonly failure_reason: string | null;
  readonly paid_by: string;
  readonly created_at: string;
  readonly updated_at: string;
}

export interface TopUp {
  readonly id: string;
  readonly status: string;
  readonly amount: number;
  readonly qr_code?: string | null;
  readonly pay_url?: string | null;
}

export interface Batch {
  readonly id: string;
  readonly status: string;
  readonly rows: number;
  readonly valid: number;
  readonly accepted: number;
  readonly pending: number;
  readonly rejected_count: number;
  readonly rejected: ReadonlyArray<{ readonly line: number; readonly code: string; readonly message: string }>;
  readonly succeeded: number;
  readonly failed: number;
  readonly finished: number;
  readonly done: boolean;
}

export interface Bucket {
  readonly start: number;
  readonly calls: number;
  readonly success_rate: number | null;
  readonly p50_latency_ms: number | null;
  readonly p99_latency_ms: number | null;
  readonly max_in_flight: number;
  readonly capacity: number;
  readonly breaker: 'closed' | 'open' | 'half_open';
  readonly breaker_opened: boolean;
  readonly scores: Readonly<Record<string, number>>;
}

export interface History {
  readonly bucket_ms: number;
  readonly strategy: string;
  readonly weights: { readonly latency: number; readonly success: number; readonly load: number };
  readonly data: ReadonlyArray<{ readonly channel: string; readonly buckets: readonly Bucket[] }>;
}

export interface ChannelNow {
  readonly channel: string;
  readonly operators: readonly string[];
  readonly breaker: { readonly state: string; readonly reason?: string };
  readonly in_flight: number;
  readonly capacity: number;
  readonly scores: Readonly<Record<string, number>>;
  readonly shares: Readonly<Record<string, number>>;
}

export interface GatewayNow {
  readonly name: string;
  readonly methods: readonly string[];
  readonly breaker?: string;
  readonly available?: boolean;
  readonly in_flight?: number;
  readonly calls?: number;
  readonly failures?: number;
}

export const RECHARGE_STATUSES = [
  'CREATED',
  'SUBMITTING',
  'PROCESSING',
  'UNKNOWN',
  'AWAITING_FAILOVER',
  'SUCCEEDED',
  'FAILED',
] as const;
