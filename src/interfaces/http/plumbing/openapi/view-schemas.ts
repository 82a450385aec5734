import { z } from 'zod';
import type { BlockView } from '../../../../application/abuse/abuse-api.js';
import type { BatchView } from '../../../../application/batch/batch-api.js';
import type { KeyView, Session } from '../../../../application/identity/identity-api.js';
import type { HeldView } from '../../../../application/kernel/holds.js';
import type { LedgerCheck } from '../../../../application/ledger/ledger-api.js';
import type { MandateView } from '../../../../application/mandates/mandates-api.js';
import type { OrderView } from '../../../../application/orders/orders-api.js';
import type { RechargeView } from '../../../../application/recharge/recharge-api.js';
import type {
  ReconciliationSummary,
  ReconciliationView,
  RepairView,
} from '../../../../application/reconciliation/reconciliation-api.js';
import type { RefundView } from '../../../../application/refunds/refunds-api.js';
import type { TopUpView } from '../../../../application/wallet/wallet-api.js';
import type { DeliveryView, WebhookView } from '../../../../application/webhooks/webhook-view.js';
import { BLOCK_KINDS, FAILURE_KINDS } from '../../../../domain/abuse.js';
import { ROLES } from '../../../../domain/auth/permissions.js';
import { MANDATE_PERIODS } from '../../../../domain/mandate.js';
import { ORDER_STATUSES } from '../../../../domain/order.js';
import { RECHARGE_STATUSES } from '../../../../domain/recharge/recharge.js';
import { REFUND_STATUSES } from '../../../../domain/refund.js';
import { FLAG_ACTIONS, type FlagView } from '../../../../application/flags/flags-api.js';
import type { ResponseDoc } from './route-doc.js';
import { TOP_UP_STATUSES } from '../../../../domain/wallet.js';

/**
 * The answers of the HTTP API as zod schemas, for the OpenAPI document. The views stay TypeScript
 * interfaces where they are made (application/); each schema here is checked against its
 * interface by the compiler (`agrees` below: same fields, and every view the service makes is
 * valid under the schema), and against real answers by test/openapi-responses.test.ts.
 * `.meta({ id })` makes a schema a named component of the document.
 */

const instant = z.iso.datetime().describe('an instant, ISO 8601 in UTC');
/** Amounts are integer minor units (fen), never floats. */
const minor = z.number().int().describe('minor units (fen)');

/** What the payer of a waiting payment needs (orders, top-ups, directly paid recharges alike). */
const payerAction = {
  qr_code: z
    .string()
    .nullable()
    .describe('while the payment waits for the payer: the QR content to scan (Alipay qr_code, WeChat code_url)'),
  pay_url: z
    .string()
    .nullable()
    .describe('while it waits: a page the payer can open to pay (http/https), when the gateway gives one'),
  expires_at: instant.nullable().describe('until when the payer can pay; the trade is closed after it'),
};

export const orderViewSchema = z
  .object({
    id: z.string(),
    status: z.string().describe(`one of ${ORDER_STATUSES.join(', ')}`),
    status_text: z.string(),
    status_reason: z.string().nullable(),
    user_id: z.string(),
    drink: z.string(),
    size: z.string(),
    quantity: z.number().int(),
    options: z.record(z.string(), z.unknown()),
    description: z.string(),
    unit_amount: minor,
    amount: minor,
    currency: z.string(),
    payment: z
      .object({
        id: z.string(),
        status: z.string(),
        gateway: z.string(),
        method: z.string(),
        out_trade_no: z.string().nullable(),
        gateway_trade_no: z.string().nullable(),
        failure_code: z.string().nullable(),
        ...payerAction,
      })
      .nullable(),
    created_at: instant,
    updated_at: instant,
  })
  .meta({ id: 'Order', description: 'A coffee order and its payment. Amounts in minor units.' });

export const refundViewSchema = z
  .object({
    id: z.string(),
    order_id: z.string(),
    payment_id: z.string(),
    status: z.string().describe(`one of ${REFUND_STATUSES.join(', ')}`),
    amount: minor,
    currency: z.string(),
    reason: z.string(),
    out_refund_no: z.string(),
    gateway_refund_no: z.string().nullable(),
    failure_code: z.string().nullable(),
    created_at: instant,
    updated_at: instant,
  })
  .meta({ id: 'Refund', description: 'A refund of (part of) an order’s payment.' });

export const topUpViewSchema = z
  .object({
    id: z.string(),
    status: z.enum(TOP_UP_STATUSES),
    amount: minor,
    currency: z.string(),
    gateway: z.string(),
    out_trade_no: z.string(),
    failure_code: z.string().nullable(),
    recharge_id: z.string().nullable().describe('the recharge this payment pays for directly'),
    refund_status: z.string().nullable().describe('its refund, when that recharge failed'),
    ...payerAction,
    created_at: instant,
    updated_at: instant,
  })
  .meta({ id: 'TopUp', description: 'A wallet top-up (or the direct payment of one recharge).' });

export const rechargeViewSchema = z
  .object({
    id: z.string(),
    status: z.enum(RECHARGE_STATUSES),
    user_id: z.string(),
    batch_id: z.string().nullable().describe('the batch it came in; null for a single recharge'),
    phone: z.string().describe('masked'),
    operator: z.string(),
    amount: minor,
    currency: z.string(),
    channel: z.string().nullable(),
    attempt: z.number().int(),
    attempts: z.array(
      z.object({
        channel: z.string(),
        order_id: z.string(),
        channel_order_id: z.string().nullable(),
        failure: z.string().nullable(),
      }),
    ),
    failure_reason: z.string().nullable(),
    paid_by: z.enum(['wallet', 'direct']),
    top_up_id: z.string().nullable(),
    ...payerAction,
    created_at: instant,
    updated_at: instant,
  })
  .meta({ id: 'Recharge', description: 'A phone recharge; the number is masked.' });

export const heldViewSchema = z
  .object({
    id: z.string(),
    action: z.string(),
    status: z.enum(['AWAITING', 'CONFIRMED', 'REJECTED']),
    what: z.string(),
    amount: minor,
    currency: z.string(),
    payee: z.string(),
    method: z.string(),
    count: z.number().int().optional(),
    reason: z.string(),
    digest: z.string().describe('name it when confirming: a confirm for anything else is refused'),
    requested_by: z.string(),
    decided_by: z.string().nullable(),
    result_id: z.string().nullable(),
    created_at: instant,
    expires_at: instant,
    confirm: z.object({
      method: z.literal('POST'),
      path: z.string(),
      body: z.object({ digest: z.string() }),
    }),
  })
  .meta({
    id: 'Held',
    description: 'A money action the policy held for the person: what will run and how to confirm it.',
  });

export const batchViewSchema = z
  .object({
    id: z.string(),
    status: z.enum(['receiving', 'held', 'accepted', 'abandoned']),
    rows: z.number().int(),
    valid: z.number().int(),
    accepted: z.number().int(),
    pending: z.number().int(),
    rejected_count: z.number().int(),
    rejected: z.array(z.object({ line: z.number().int(), code: z.string(), message: z.string() })),
    counts: z.record(z.string(), z.number().int()),
    succeeded: z.number().int(),
    failed: z.number().int(),
    finished: z.number().int(),
    done: z.boolean(),
    results: z.string().describe('where the result file is (CSV)'),
    created_at: instant,
  })
  .meta({ id: 'Batch', description: 'Where a batch of recharges stands.' });

export const mandateViewSchema = z
  .object({
    id: z.string(),
    user: z.string(),
    agent: z.string(),
    status: z.enum(['ACTIVE', 'REVOKED', 'EXPIRED']),
    actions: z.array(z.string()),
    payees: z.array(z.string()),
    currency: z.string(),
    max_per_transaction: minor,
    budget: minor,
    period: z.string().describe(`one of ${MANDATE_PERIODS.join(', ')}`),
    spent: minor,
    remaining: minor,
    period_started_at: instant,
    period_ends_at: instant.nullable(),
    created_at: instant,
    expires_at: instant,
    revoked_at: instant.nullable(),
    revoked_by: z.string().nullable(),
    jws: z.string().describe('compact JWS (ES256) over the terms; check it with GET /api/v1/mandates/jwks'),
  })
  .meta({ id: 'Mandate', description: 'A spending mandate a person granted one of their agents.' });

export const blockViewSchema = z
  .object({
    id: z.string(),
    source: z.string(),
    kind: z.enum(BLOCK_KINDS).describe('the failure that tipped the source over, or manual (blocked by a person)'),
    reasons: z.record(z.enum(FAILURE_KINDS), z.number().int()),
    created_at: instant,
    until: instant,
    lifted_at: instant.nullable(),
    lifted_by: z.string().nullable(),
  })
  .meta({ id: 'Block', description: 'A source blocked for too many failures.' });

export const keyViewSchema = z
  .object({
    id: z.string(),
    prefix: z.string(),
    principal: z.string(),
    role: z.enum(ROLES),
    acts_for: z.string().nullable(),
    created_by: z.string(),
    created_at: instant,
    expires_at: instant.nullable(),
    revoked_at: instant.nullable(),
  })
  .meta({ id: 'ApiKey', description: 'An API key as listed: never the key itself.' });

export const personViewSchema = z
  .object({
    id: z.string(),
    role: z.enum(ROLES),
    status: z.enum(['active', 'disabled']),
    password_set: z.boolean().describe('whether they can log in with a password (the first admin has only a key)'),
    created_at: instant,
    disabled_at: instant.nullable(),
    last_login_at: instant.nullable().describe('their last password login'),
    live_keys: z.number().int().describe('their API keys neither revoked nor expired'),
  })
  .meta({ id: 'Person', description: 'A person of the tenant as admins see them: never a password or a key.' });

export const sessionSchema = z
  .object({
    access_token: z.string().describe('a JWT, valid for `expires_in` seconds'),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int(),
    refresh_token: z.string(),
    refresh_expires_in: z.number().int(),
    principal: z.object({ tenant: z.string(), id: z.string(), role: z.enum(ROLES) }),
  })
  .meta({ id: 'Session', description: 'A login: an access token and the refresh token that renews it once.' });

/** One audit row as GET /api/v1/audit shows it. */
export const auditRowViewSchema = z.object({
  id: z.string().describe('the row’s id; also what `cursor` pages after'),
  shard: z.number().int().describe('which of the tenant’s hash chains it is in (every row of one resource: the same)'),
  seq: z.number().int().describe('its place in that chain'),
  at: z.iso.datetime(),
  actor: z.string(),
  action: z.string(),
  resource_type: z.string(),
  resource_id: z.string(),
  before: z.unknown(),
  after: z.unknown(),
  request_id: z.string().nullable(),
});

export const ledgerCheckSchema = z
  .object({
    balanced: z.boolean(),
    unbalanced: z.array(z.object({ journal_id: z.string(), sum: z.number().int() })),
    complete: z.boolean(),
    incomplete: z.array(
      z.object({
        resource_type: z.enum(['payment', 'refund', 'top_up', 'recharge']),
        resource_id: z.string(),
        status: z.string(),
        missing: z.array(z.string()),
        unexpected: z.array(z.string()),
      }),
    ),
    checked: z.number().int(),
  })
  .meta({ id: 'LedgerCheck', description: 'Balance and completeness of the whole book.' });

/** The 202 of a money action: under way (`<key>` with `next`: poll it), or held for the person (`held`). */
export function underWayOrHeld(key: string, view: z.ZodType, what: string): ResponseDoc {
  return {
    description: `in progress (\`${key}\`, poll it), or held for the person to confirm (\`held\`)`,
    body: z.union([z.object({ [key]: view, next: z.string() }), z.object({ held: heldViewSchema })]),
    headers: { Location: `the ${what}, or the held action to confirm` },
  };
}

/** `{ data: [...] }`, the shape of every list. */
export const webhookViewSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabled_at: instant.nullable(),
    disabled_reason: z.string().nullable(),
    created_by: z.string(),
    created_at: instant,
    updated_at: instant,
  })
  .meta({
    id: 'Webhook',
    description: 'An endpoint that receives signed events (Standard Webhooks); never its secret.',
  });

const attemptViewSchema = z.object({
  n: z.number().int(),
  at: instant,
  status_code: z.number().int().nullable(),
  latency_ms: z.number(),
  error: z.string().nullable(),
});

export const deliveryViewSchema = z
  .object({
    id: z.string(),
    webhook_id: z.string(),
    event_id: z.string().describe('the `webhook-id` header: the same on every attempt and redelivery'),
    event_type: z.string(),
    status: z.enum(['waiting', 'pending', 'succeeded', 'failed']),
    attempts: z.number().int(),
    next_attempt_at: instant.nullable(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: instant,
    updated_at: instant,
    log: z.array(attemptViewSchema),
  })
  .meta({ id: 'WebhookDelivery', description: 'One event addressed to one endpoint, with its attempts.' });

const fen = z.number().int().describe('fen (integer minor units)');
const lineStatus = z.enum(['SUCCESS', 'PROCESSING', 'FAILED', 'REVOKED', 'CLOSED']);

export const repairViewSchema = z
  .object({
    id: z.string(),
    item_key: z.string(),
    category: z.string(),
    action: z.enum(['settle_from_channel', 'refund_unknown_capture', 'recheck', 'flag']),
    why: z.string(),
    not_before: instant.nullable(),
    status: z.enum(['proposed', 'applied', 'failed']),
    result: z.string().nullable(),
    decided_by: z.string().nullable(),
    decided_at: instant.nullable(),
    item: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'ReconciliationRepair', description: 'A repair a reconciliation proposed for one item.' });

const reportItemSchema = z
  .object({
    key: z.string(),
    category: z.string(),
    kind: z.enum(['payment', 'refund', 'recharge']),
    out_trade_no: z.string(),
    out_refund_no: z.string().nullable(),
    channel_id: z.string().nullable(),
    local_amount: fen.nullable(),
    channel_amount: fen.nullable(),
    local_status: z.union([lineStatus, z.literal('NONE')]).nullable(),
    channel_status: lineStatus.nullable(),
    channel_fee: fen.nullable(),
    expected_fee: fen.nullable(),
    resource: z.object({ type: z.string(), id: z.string(), tenant_id: z.string() }).nullable(),
    lines: z.array(z.number().int()),
    statement_date: z
      .string()
      .nullable()
      .describe(
        "the neighbouring day (YYYY-MM-DD) whose statement held the item (the ±1-day cut-off window); null: this day's",
      ),
    repair: z.object({ action: z.string(), notBefore: z.number().nullable(), why: z.string() }).nullable(),
  })
  .meta({ id: 'ReconciliationItem', description: 'One item: our record and the statement line(s) it matched.' });
const categoryTotal = z.object({ count: z.number().int(), local_amount: fen, channel_amount: fen });
const items = z.array(reportItemSchema);

const reconciliationSummaryShape = {
  id: z.string(),
  source: z.string(),
  date: z.string().describe('the business day, YYYY-MM-DD (Asia/Shanghai)'),
  format: z.enum(['alipay', 'wechatpay', 'juhe']),
  file: z.string(),
  status: z.enum(['done', 'failed']),
  error: z
    .string()
    .nullable()
    .describe('why a failed run failed (its statement could not be had or read, or it broke); null when done'),
  created_at: instant,
  created_by: z.string(),
  clean: z.boolean().describe('no item in a problem category (never true for a failed run)'),
  totals: z.object({
    statement: z.object({ lines: z.number().int(), payments: fen, refunds: fen, recharges: fen, fees: fen }),
    categories: z.record(z.string(), categoryTotal),
  }),
};

export const reconciliationSummarySchema = z.object(reconciliationSummaryShape).meta({
  id: 'ReconciliationSummary',
  description: 'A reconciliation run as lists show it: where it stands and its totals (GET it for the items).',
});

export const reconciliationViewSchema = z
  .object({
    ...reconciliationSummaryShape,
    matched: items,
    missing_locally: items,
    missing_at_channel: items,
    amount_mismatch: items,
    status_mismatch: items,
    fee_mismatch: items,
    duplicates: items,
    explained: items,
    repairs: z.array(repairViewSchema),
  })
  .meta({ id: 'Reconciliation', description: 'Our records against a source’s statement of one day.' });

export const flagViewSchema = z
  .object({
    id: z.string(),
    code: z.string(),
    resource_type: z.string(),
    resource_id: z.string(),
    detail: z.unknown(),
    created_at: instant,
    resolved_at: instant.nullable(),
    resolved_by: z.string().nullable(),
    resolution_note: z.string().nullable(),
    actions: z.array(z.enum(FLAG_ACTIONS)).describe('what may be done about it now; empty once resolved'),
  })
  .meta({ id: 'ReviewFlag', description: 'A finding for a person to look at, and what may be done about it.' });

export const listOf = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item) });

/**
 * The compiler checks each schema against its view: every field of the view is in the schema
 * with a compatible type, and the schema has no field the view lacks.
 */
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
type DeepReadonly<T> = T extends (infer E)[]
  ? ReadonlyArray<DeepReadonly<E>>
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
type Agrees<View, S extends z.ZodType> = View extends DeepReadonly<z.output<S>> ? SameKeys<View, z.output<S>> : false;
export const agrees: {
  readonly [K in string]: true;
} = {
  order: true satisfies Agrees<OrderView, typeof orderViewSchema>,
  refund: true satisfies Agrees<RefundView, typeof refundViewSchema>,
  topUp: true satisfies Agrees<TopUpView, typeof topUpViewSchema>,
  recharge: true satisfies Agrees<RechargeView, typeof rechargeViewSchema>,
  held: true satisfies Agrees<HeldView, typeof heldViewSchema>,
  batch: true satisfies Agrees<BatchView, typeof batchViewSchema>,
  mandate: true satisfies Agrees<MandateView, typeof mandateViewSchema>,
  block: true satisfies Agrees<BlockView, typeof blockViewSchema>,
  key: true satisfies Agrees<KeyView, typeof keyViewSchema>,
  session: true satisfies Agrees<Session, typeof sessionSchema>,
  ledgerCheck: true satisfies Agrees<LedgerCheck, typeof ledgerCheckSchema>,
  webhook: true satisfies Agrees<WebhookView, typeof webhookViewSchema>,
  delivery: true satisfies Agrees<DeliveryView, typeof deliveryViewSchema>,
  repair: true satisfies Agrees<RepairView, typeof repairViewSchema>,
  reconciliation: true satisfies Agrees<ReconciliationView, typeof reconciliationViewSchema>,
  reconciliationSummary: true satisfies Agrees<ReconciliationSummary, typeof reconciliationSummarySchema>,

  flag: true satisfies Agrees<FlagView, typeof flagViewSchema>,
};
