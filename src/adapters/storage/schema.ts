import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/**
 * The tables as they are in the database, for every engine: snake_case names, exactly what the
 * migrations create. Columns use types both SQLite and PostgreSQL hold without change: text ids,
 * integer money in minor units (bigint in PostgreSQL), epoch-millisecond integers for time, JSON
 * documents as text. Raw SQL (the SQLite prepared statements, `sql` templates) uses these names.
 */
export interface Database {
  orders: OrdersTable;
  payments: PaymentsTable;
  jobs: JobsTable;
  audit_log: AuditLogTable;
  audit_chain_heads: AuditChainHeadsTable;
  idempotency_keys: IdempotencyKeysTable;
  ledger_postings: LedgerPostingsTable;
  refunds: RefundsTable;
  callback_events: CallbackEventsTable;
  callback_nonces: CallbackNoncesTable;
  review_flags: ReviewFlagsTable;
  agent_sessions: AgentSessionsTable;
  wallets: WalletsTable;
  wallet_top_ups: WalletTopUpsTable;
  recharges: RechargesTable;
  recharge_batches: RechargeBatchesTable;
  recharge_batch_rows: RechargeBatchRowsTable;
  recharge_batch_counts: RechargeBatchCountsTable;
  tenants: TenantsTable;
  principals: PrincipalsTable;
  api_keys: ApiKeysTable;
  refresh_tokens: RefreshTokensTable;
  service_secrets: ServiceSecretsTable;
  source_blocks: SourceBlocksTable;
  held_actions: HeldActionsTable;
  mandates: MandatesTable;
  mandate_spends: MandateSpendsTable;
  data_keys: DataKeysTable;
  webhook_subscriptions: WebhookSubscriptionsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  webhook_cursor: WebhookCursorTable;
  reconciliations: ReconciliationsTable;
  reconciliation_repairs: ReconciliationRepairsTable;
}

/**
 * An integer column. bigint columns come back as strings from pg and as numbers from SQLite, so a
 * read value is typed as either and the row mappers normalise it (`num`); writes take numbers.
 */
type Int = ColumnType<number | string, number, number>;
/** An integer column the database fills when an insert leaves it out. */
type IntWithDefault = ColumnType<number | string, number | undefined, number>;

export interface TenantsTable {
  id: string;
  name: string;
  created_at: Int;
}

export interface PrincipalsTable {
  tenant_id: string;
  id: string;
  kind: string;
  role: string;
  acts_for: string | null;
  display_name: string | null;
  password_hash: string | null;
  created_at: Int;
  disabled_at: Int | null;
  /** Migration 0030: the person's last password login. */
  last_login_at: Int | null;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  principal_id: string;
  secret_hash: string;
  created_by: string;
  created_at: Int;
  expires_at: Int | null;
  revoked_at: Int | null;
}

export interface RefreshTokensTable {
  id: string;
  tenant_id: string;
  principal_id: string;
  family_id: string;
  token_hash: string;
  created_at: Int;
  expires_at: Int;
  used_at: Int | null;
  revoked_at: Int | null;
}

export interface ServiceSecretsTable {
  name: string;
  value: string;
  created_at: Int;
}

export interface OrdersTable {
  id: string;
  tenant_id: string;
  user_id: string;
  status: string;
  drink: string;
  size: string;
  quantity: Int;
  options_json: string;
  description: string;
  unit_amount: Int;
  amount: Int;
  currency: string;
  payment_id: string;
  status_reason: string | null;
  created_by: string;
  updated_by: string;
  created_at: Int;
  updated_at: Int;
  version: Int;
}

export interface PaymentsTable {
  id: string;
  tenant_id: string;
  order_id: string;
  status: string;
  amount: Int;
  refunded_amount: Int;
  currency: string;
  gateway: string;
  method: string;
  attempt: Int;
  out_trade_no: string | null;
  gateway_trade_no: string | null;
  failure_code: string | null;
  created_by: string;
  updated_by: string;
  created_at: Int;
  updated_at: Int;
  version: Int;
  qr_code: string | null;
  pay_url: string | null;
  pay_expires_at: Int | null;
  /** When the money moved (0025): the capture, as the gateway reported it or as we recorded it. */
  settled_at: ColumnType<number | string | null, number | null | undefined, number | null>;
  /**
   * Why we set out to close its waiting trade (0022), recorded before the close: ORDER_CANCELLED
   * (with the cancel's note) or METHOD_CHANGED (with the method and gateway it goes on with).
   */
  close_reason: ColumnType<string | null, string | null | undefined, string | null>;
  close_note: ColumnType<string | null, string | null | undefined, string | null>;
  close_method: ColumnType<string | null, string | null | undefined, string | null>;
  close_gateway: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface JobsTable {
  id: string;
  tenant_id: string;
  kind: string;
  resource_id: string;
  payload_json: string;
  priority: Int;
  run_at: Int;
  attempts: Int;
  max_attempts: Int;
  status: string;
  lease_owner: string | null;
  lease_until: Int | null;
  last_error: string | null;
  created_by: string;
  created_at: Int;
  updated_at: Int;
  /** The W3C traceparent of the work that enqueued the job (0020). */
  traceparent: string | null;
}

export interface AuditLogTable {
  id: IntWithDefault;
  tenant_id: string;
  at: Int;
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string;
  before_json: string | null;
  after_json: string | null;
  request_id: string | null;
  /**
   * The row's chain (0015): how many shards its tenant had, which one is the row's (from its
   * resource), its place in that chain, its predecessor's hash and its own. Every row written
   * since has them; null only in a row written around the application (the chain check reports it).
   */
  shards: number | null;
  shard: number | null;
  seq: Int | null;
  prev_hash: string | null;
  hash: string | null;
}

/** Each chain's (tenant, shard) last row (0015): locked by the writer that appends after it. */
export interface AuditChainHeadsTable {
  tenant_id: string;
  shard: number;
  seq: Int;
  hash: string;
  updated_at: Int;
}

export interface IdempotencyKeysTable {
  tenant_id: string;
  scope: string;
  key: string;
  fingerprint: string;
  state: string;
  response_status: Int | null;
  /** Sealed (v1:…) since 0011 (an agent's answer repeats the number it was given); plaintext before. */
  response_body: string | null;
  response_headers_json: string | null;
  recovery_point: string | null;
  locked_until: Int;
  created_at: Int;
  expires_at: Int;
}

/** One line of a double-entry journal; a journal's lines sum to zero. */
export interface LedgerPostingsTable {
  journal_id: string;
  line: Int;
  tenant_id: string;
  account: string;
  amount: Int;
  currency: string;
  kind: string;
  resource_type: string;
  resource_id: string;
  actor: string;
  at: Int;
}

export interface RefundsTable {
  id: string;
  tenant_id: string;
  order_id: string;
  payment_id: string;
  out_refund_no: string;
  amount: Int;
  currency: string;
  status: string;
  reason: string;
  failure_code: string | null;
  gateway_refund_no: string | null;
  created_by: string;
  updated_by: string;
  created_at: Int;
  updated_at: Int;
  version: Int;
  /** When the refund succeeded at the gateway (0025). */
  settled_at: ColumnType<number | string | null, number | null | undefined, number | null>;
}

/** Callbacks already applied, by the gateway's own event id: a duplicate is a no-op. */
export interface CallbackEventsTable {
  gateway: string;
  event_id: string;
  tenant_id: string;
  resource_id: string | null;
  outcome: string;
  received_at: Int;
}

/** Nonces of accepted callbacks, kept past the timestamp window: a replay is refused. */
export interface CallbackNoncesTable {
  gateway: string;
  nonce: string;
  expires_at: Int;
}

/** Findings a person should look at: late captures, amount mismatches, status corrections. */
export interface ReviewFlagsTable {
  id: string;
  tenant_id: string;
  resource_type: string;
  resource_id: string;
  code: string;
  detail_json: string;
  created_at: Int;
  resolved_at: Int | null;
  /** Who resolved it, and the note they gave (migration 0014_flag_resolutions). */
  resolved_by: string | null;
  resolution_note: string | null;
}
/** Agent conversations (migration 0002_agent_sessions). */
export interface AgentSessionsTable {
  tenant_id: string;
  id: string;
  user_id: string;
  /** Sealed (v1:…) since 0011; plaintext JSON in rows from before it. */
  context_json: string;
  /** Keyed digest of the plaintext context, for compare-and-set (0011); null in rows from before it. */
  context_digest: ColumnType<string | null, string | null | undefined, string | null>;
  last_order_id: string | null;
  created_at: Int;
  updated_at: Int;
  expires_at: Int;
}

export interface WalletsTable {
  tenant_id: string;
  user_id: string;
  currency: string;
  balance: Int;
  updated_at: Int;
}

export interface WalletTopUpsTable {
  id: string;
  tenant_id: string;
  user_id: string;
  amount: Int;
  currency: string;
  status: string;
  gateway: string;
  method: string;
  out_trade_no: string;
  gateway_trade_no: string | null;
  failure_code: string | null;
  created_by: string;
  updated_by: string;
  created_at: Int;
  updated_at: Int;
  version: Int;
  /** The recharge this payment pays for (a direct payment), if any. */
  recharge_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** PENDING → SUCCEEDED | FAILED: the payment given back because its recharge failed. */
  refund_status: ColumnType<string | null, string | null | undefined, string | null>;
  /** While the payment waits for its payer (0019): what they scan, a page to open, until when. */
  qr_code: ColumnType<string | null, string | null | undefined, string | null>;
  pay_url: ColumnType<string | null, string | null | undefined, string | null>;
  pay_expires_at: ColumnType<number | string | null, number | null | undefined, number | null>;
  /** When the top-up was captured, and when its give-back succeeded (0025). */
  settled_at: ColumnType<number | string | null, number | null | undefined, number | null>;
  refund_settled_at: ColumnType<number | string | null, number | null | undefined, number | null>;
  /** Why we set out to close its trade at the gateway (0017), recorded before the close. */
  close_reason: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface RechargesTable {
  id: string;
  tenant_id: string;
  user_id: string;
  /** Sealed (v1:…) since 0011; plaintext in rows from before it. */
  phone: string;
  /** Keyed blind index of the normalised number, for lookups by number (0011). */
  phone_index: ColumnType<string | null, string | null | undefined, string | null>;
  operator: string;
  amount: Int;
  currency: string;
  status: string;
  /** The domain state's attempts (channel, order id, channel order id, failure) as JSON. */
  attempts_json: string;
  max_attempts: Int;
  reason: string | null;
  batch_id: string | null;
  /** Set when a payment of its own pays the recharge (not the wallet). */
  top_up_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** The id's letters and digits: what channel order ids (`attemptKey`) start with (0006). */
  key_body: string | null;
  created_by: string;
  updated_by: string;
  created_at: Int;
  updated_at: Int;
  version: Int;
}

export interface RechargeBatchesTable {
  id: string;
  tenant_id: string;
  user_id: string;
  rows: Int;
  /** Rows refused up front: `[{line, code, message}]`. */
  rejected_json: string;
  created_by: string;
  created_at: Int;
  /** receiving → accepted (its rows are being or have been turned into recharges) | abandoned. */
  status: Generated<string>;
  valid_rows: IntWithDefault;
  rejected_rows: IntWithDefault;
  format: Generated<string>;
  updated_at: IntWithDefault;
  /** Rows still `pending` (migration 0021): kept with the rows, read instead of counting them. */
  pending_rows: IntWithDefault;
}

/** One line of a batch file, as checked on arrival and then as turned into a recharge. */
export interface RechargeBatchRowsTable {
  batch_id: string;
  line: Int;
  /** Sealed (v1:…) since 0011; plaintext in rows from before it. */
  phone: string;
  /** Keyed blind index of the number (0011): the duplicate-number check looks it up. */
  phone_index: ColumnType<string | null, string | null | undefined, string | null>;
  operator: string | null;
  amount: Int | null;
  status: string;
  code: string | null;
  message: string | null;
  recharge_id: string | null;
}

/**
 * How many of a batch's recharges are in a status (0033), kept by triggers on `recharges`; the
 * count is the sum over `shard` (one row per shard on PostgreSQL, shard 0 on SQLite).
 */
export interface RechargeBatchCountsTable {
  batch_id: string;
  status: string;
  shard: Int;
  n: Int;
}

export interface HeldActionsTable {
  id: string;
  tenant_id: string;
  user_id: string;
  action: string;
  params_json: string;
  shown_json: string;
  digest: string;
  reason: string;
  status: string;
  requested_by: string;
  decided_by: string | null;
  result_id: string | null;
  created_at: Int;
  expires_at: Int;
  decided_at: Int | null;
}

export interface MandatesTable {
  id: string;
  tenant_id: string;
  user_id: string;
  agent_id: string;
  actions_json: string;
  payees_json: string;
  currency: string;
  max_per_transaction: Int;
  budget: Int;
  period: string;
  period_start: Int;
  spent: Int;
  jws: string;
  created_at: Int;
  expires_at: Int;
  revoked_at: Int | null;
  revoked_by: string | null;
}

/** Which mandate paid for which resource (0019), so a failed action gives its budget back once. */
export interface MandateSpendsTable {
  tenant_id: string;
  resource_id: string;
  mandate_id: string;
  amount: Int;
  period_start: Int;
  spent_at: Int;
  returned_at: Int | null;
}

/** Blocked sources (migration 0010_source_blocks): one row per source, reused by its next block. */
export interface SourceBlocksTable {
  source: string;
  id: string;
  kind: string;
  reasons_json: string;
  created_at: Int;
  blocked_until: Int;
  lifted_at: Int | null;
  lifted_by: string | null;
}

/** Data keys, wrapped by the master key (0011). */
export interface DataKeysTable {
  id: string;
  wrapped: string;
  status: string;
  created_at: Int;
  retired_at: Int | null;
}

/** A tenant's webhook endpoints (0013). */
export interface WebhookSubscriptionsTable {
  id: string;
  tenant_id: string;
  url: string;
  events_json: string;
  description: string | null;
  /** Sealed (v1:…): the `whsec_` signing secret. */
  secret: string;
  created_by: string;
  created_at: Int;
  updated_at: Int;
  disabled_at: Int | null;
  disabled_reason: string | null;
}

/** One event addressed to one endpoint (0013). */
export interface WebhookDeliveriesTable {
  id: string;
  tenant_id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  lane: string;
  seq: Int;
  payload: string;
  status: string;
  attempts: Int;
  first_attempt_at: Int | null;
  next_attempt_at: Int | null;
  last_status_code: Int | null;
  last_error: string | null;
  created_at: Int;
  updated_at: Int;
}

/** The delivery log (0013). */
export interface WebhookAttemptsTable {
  delivery_id: string;
  n: Int;
  tenant_id: string;
  at: Int;
  status_code: Int | null;
  latency_ms: Int;
  error: string | null;
}

/** The dispatcher's position in the audit log (0013). */
/** One reconciliation of a source's statement of a day (0018). */
export interface ReconciliationsTable {
  id: string;
  tenant_id: string;
  source: string;
  business_date: string;
  format: string;
  file_name: string;
  status: string;
  error: string | null;
  report_json: string | null;
  created_by: string;
  created_at: Int;
}

/** A repair a reconciliation proposed, once per (source, item, action) (0018). */
export interface ReconciliationRepairsTable {
  id: string;
  tenant_id: string;
  reconciliation_id: string;
  source: string;
  business_date: string;
  item_key: string;
  category: string;
  action: string;
  why: string;
  not_before: Int | null;
  item_json: string;
  status: string;
  result: string | null;
  decided_by: string | null;
  decided_at: Int | null;
  created_at: Int;
  version: Int;
}

export interface WebhookCursorTable {
  name: string;
  position: Int;
  updated_at: Int;
}

/** `tenant_id` → `tenantId`: the name CamelCasePlugin gives a snake_case identifier. */
type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

type CamelCaseKeys<T> = { [K in keyof T & string as CamelCase<K>]: T[K] };

/**
 * The same tables as the repositories see them through Kysely's CamelCasePlugin: every table and
 * column name in camelCase (`walletTopUps.outTradeNo`), the plugin writing the snake_case name
 * into the SQL and reading rows back in camelCase. Derived from `Database`, so the two never differ.
 */
export type CamelCaseDatabase = { [T in keyof Database as CamelCase<T>]: CamelCaseKeys<Database[T]> };

/** A row of a table as the repositories read it (camelCase keys; integers still to normalise). */
export type Row<T extends keyof CamelCaseDatabase> = Selectable<CamelCaseDatabase[T]>;

/** A row of a table as the repositories write it: every column given (none forgotten), integers as numbers. */
export type NewRow<T extends keyof CamelCaseDatabase> = Required<Insertable<CamelCaseDatabase[T]>>;
