import type { App } from '../../src/composition/create-app.js';
import { TERMINAL_RECHARGE_STATUSES } from '../../src/domain/recharge/recharge.js';
import type { ReadRepositories } from '../../src/ports/repositories.js';
import { ADMIN } from '../support/test-app.js';
import type { World } from './world.js';

const TENANT = 'default';
const PAGE = 500;

/** Every row of a keyset-paged listing. */
async function all<T extends { readonly id: string }>(
  list: (afterId: string | null, limit: number) => Promise<T[]>,
): Promise<T[]> {
  const out: T[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await list(after, PAGE);
    out.push(...page);
    if (page.length < PAGE) return out;
    after = page.at(-1)?.id ?? null;
  }
}

/** Order states a calm world leaves an order in: nothing waits on anyone any more. */
const SETTLED_ORDER = new Set(['COMPLETED', 'REFUNDED', 'CANCELLED', 'FAILED']);

/** How many orders, refunds, top-ups and recharges have not ended yet (the calm waits for 0). */
export async function unsettled(app: App): Promise<number> {
  const read = app.deps.uow.read;
  let n = 0;
  for (const p of await all((a, l) => read.payments.listAfter(TENANT, a, l))) {
    const o = await read.orders.get(TENANT, p.orderId);
    if (o !== undefined && !SETTLED_ORDER.has(o.status)) n += 1;
  }
  for (const r of await all((a, l) => read.refunds.listAfter(TENANT, a, l))) if (r.status === 'PENDING') n += 1;
  for (const t of await all((a, l) => read.topUps.listAfter(TENANT, a, l)))
    if (t.status === 'PENDING' || t.refundStatus === 'PENDING') n += 1;
  for (const r of await all((a, l) => read.recharges.listAfter(TENANT, a, l)))
    if (!TERMINAL_RECHARGE_STATUSES.has(r.state.status)) n += 1;
  return n;
}

/**
 * The invariants checked after every run, once the world has been calm long enough for
 * everything to end. Each returns what it found wrong, in words that name the resource.
 */
export async function checkInvariants(app: App, world: World, note: (line: string) => void): Promise<string[]> {
  const read: ReadRepositories = app.deps.uow.read;
  const failures: string[] = [];
  const payments = await all((a, l) => read.payments.listAfter(TENANT, a, l));
  const refunds = await all((a, l) => read.refunds.listAfter(TENANT, a, l));
  const topUps = await all((a, l) => read.topUps.listAfter(TENANT, a, l));
  const recharges = await all((a, l) => read.recharges.listAfter(TENANT, a, l));

  // 1. Every order and recharge ended (the world has been calm for hours of simulated time).
  for (const p of payments) {
    const order = await read.orders.get(TENANT, p.orderId);
    if (order === undefined) failures.push(`payment ${p.id} has no order`);
    else if (!SETTLED_ORDER.has(order.status))
      failures.push(`order ${order.id} still ${order.status} (payment ${p.status}) after the calm`);
  }
  for (const r of refunds) if (r.status === 'PENDING') failures.push(`refund ${r.id} still PENDING after the calm`);
  for (const t of topUps) {
    if (t.status === 'PENDING') failures.push(`top-up ${t.id} still PENDING after the calm`);
    if (t.refundStatus === 'PENDING') failures.push(`top-up ${t.id} give-back still PENDING after the calm`);
  }
  for (const r of recharges)
    if (!TERMINAL_RECHARGE_STATUSES.has(r.state.status))
      failures.push(`recharge ${r.id} still ${r.state.status} after the calm`);

  // 2. The gateway's money equals ours, trade by trade: no double capture, no capture we lost.
  const ours = new Map<string, { resource: string; captured: number; refunded: number }>();
  for (const p of payments) {
    if (p.outTradeNo === null) continue;
    const captured = ['PAID', 'PARTIALLY_REFUNDED', 'REFUNDED'].includes(p.status) ? p.amount : 0;
    ours.set(p.outTradeNo, { resource: `payment ${p.id}`, captured, refunded: p.refundedAmount });
  }
  for (const t of topUps) {
    const captured = t.status === 'SUCCEEDED' ? t.amount : 0;
    const refunded = t.refundStatus === 'SUCCEEDED' ? t.amount : 0;
    ours.set(t.outTradeNo, { resource: `top-up ${t.id}`, captured, refunded });
  }
  const books = world.netByTrade();
  let bankNet = 0;
  let ourNet = 0;
  for (const [outTradeNo, b] of books) {
    bankNet += b.captured - b.refunded;
    if (b.captures > 1) failures.push(`trade ${outTradeNo} captured ${b.captures} times at the gateway`);
    const o = ours.get(outTradeNo);
    if (o === undefined) {
      if (b.captured !== b.refunded)
        failures.push(`trade ${outTradeNo} holds ${b.captured - b.refunded} fen at the gateway that we never recorded`);
      continue;
    }
    if (o.captured !== b.captured || o.refunded !== b.refunded)
      failures.push(
        `${o.resource} (${outTradeNo}): we say captured ${o.captured} refunded ${o.refunded}, ` +
          `the gateway ${b.captured}/${b.refunded}`,
      );
  }
  for (const [outTradeNo, o] of ours) {
    ourNet += o.captured - o.refunded;
    if (!books.has(outTradeNo) && o.captured > 0)
      failures.push(`${o.resource} (${outTradeNo}) says captured ${o.captured} but the gateway never took it`);
  }
  if (bankNet !== ourNet) failures.push(`gateway net ${bankNet} fen, ours ${ourNet} fen`);

  // 3. No double top-up: each recharge credited a phone at most once, and only if it SUCCEEDED.
  const credited = new Map<string, number>();
  for (const t of world.carriers.groundTruth) credited.set(t.orderId, (credited.get(t.orderId) ?? 0) + 1);
  const creditedByRecharge = new Map<string, number>();
  for (const [orderId, times] of credited) {
    const r = await read.recharges.getByAttemptKey(orderId);
    if (r === undefined) {
      failures.push(`the carriers credited order ${orderId}, which no recharge of ours sent`);
      continue;
    }
    creditedByRecharge.set(r.id, (creditedByRecharge.get(r.id) ?? 0) + times);
  }
  for (const r of recharges) {
    const times = creditedByRecharge.get(r.id) ?? 0;
    const want = r.state.status === 'SUCCEEDED' ? 1 : 0;
    if (times !== want)
      failures.push(`recharge ${r.id} is ${r.state.status} but the carriers credited it ${times} times`);
  }

  // 4. Every journal balances, and every resource has the journals its state requires.
  const ledger = await app.services.ledger.check(TENANT);
  if (!ledger.balanced) failures.push(`unbalanced journals: ${JSON.stringify(ledger.unbalanced.slice(0, 5))}`);
  if (!ledger.complete) failures.push(`resources missing journals: ${JSON.stringify(ledger.incomplete.slice(0, 5))}`);

  // 5. Each wallet = its top-ups − the recharges it paid (failed ones gave their money back).
  const expected = new Map<string, number>();
  for (const t of topUps)
    if (t.status === 'SUCCEEDED' && t.rechargeId === undefined)
      expected.set(t.userId, (expected.get(t.userId) ?? 0) + t.amount);
  for (const r of recharges)
    if (r.topUpId === undefined && r.state.status === 'SUCCEEDED')
      expected.set(r.userId, (expected.get(r.userId) ?? 0) - r.amount);
  const users = new Set([...expected.keys(), ...recharges.map((r) => r.userId)]);
  for (const u of users) {
    const w = await read.wallets.get(TENANT, u);
    const balance = w?.balance ?? 0;
    if (balance !== (expected.get(u) ?? 0))
      failures.push(`wallet of ${u} holds ${balance} fen; top-ups − recharges = ${expected.get(u) ?? 0}`);
  }

  // 6. Audit chain valid: every tenant's hash chains walk clean (`autoglm audit verify`), through
  //    every crash and concurrent writer of the run; the first bad row is reported.
  failures.push(...(await auditChainValid(app)));

  const tally = (statuses: readonly string[]): string => {
    const by = new Map<string, number>();
    for (const st of statuses) by.set(st, (by.get(st) ?? 0) + 1);
    return [...by]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([st, n]) => `${st} ${n}`)
      .join(', ');
  };
  note(
    `end: payments {${tally(payments.map((p) => p.status))}} refunds {${tally(refunds.map((r) => r.status))}} ` +
      `top-ups {${tally(topUps.map((t) => t.status))}} recharges {${tally(recharges.map((r) => r.state.status))}} ` +
      `gateway net ${bankNet}`,
  );
  return failures;
}

/** The "audit chain valid" invariant: every tenant's chains, walked as `autoglm audit verify` does. */
export async function auditChainValid(app: App): Promise<string[]> {
  const report = await app.services.audit.verify();
  if (report.ok) return [];
  const p = report.problem;
  return [`audit chain broken: ${p === undefined ? 'a checkpoint no longer holds' : `${p.kind}: ${p.message}`}`];
}

/** An item of a reconciliation report, as far as the simulation looks at it. */
interface ReportedItem {
  readonly kind: string;
  readonly out_trade_no: string;
  readonly out_refund_no: string | null;
}

/**
 * Reconcile every simulated day of every source against the simulators' own statement files,
 * apply every repair proposed, let the repairs' work run, and reconcile again: the second pass
 * must be clean. Returns what stayed unexplained.
 *
 * `channelDay` tells on which day the channel itself booked an item (its statement's day). An
 * item reported missing at the channel on day D that the channel booked on another day was bug
 * B1 of docs/guide/simulation.md (fixed: items are dated by when their money moved, and the ±1-day
 * cut-off window matches them on the neighbouring day's statement); it fails the run like any
 * other unexplained item, and the trace says which day the channel booked it on.
 */
export async function reconcileClean(
  app: App,
  days: readonly string[],
  sources: readonly string[],
  settle: (ms: number) => Promise<void>,
  note: (line: string) => void,
  channelDay: (source: string, item: ReportedItem) => string | undefined,
): Promise<string[]> {
  const failures: string[] = [];
  for (const date of days) {
    for (const source of sources) {
      const first = await app.services.reconciliation.run(ADMIN, { source, date });
      if (!first.ok) {
        failures.push(`reconciliation of ${source} ${date} refused: ${first.error.code} ${first.error.message}`);
        continue;
      }
      const r = first.value;
      note(`reconcile ${source} ${date}: ${r.clean ? 'clean' : 'not clean'}, ${r.repairs.length} repairs`);
      if (r.clean) continue;
      for (const repair of r.repairs) {
        if (repair.status !== 'proposed') continue;
        const applied = await app.services.reconciliation.apply(ADMIN, repair.id);
        note(
          `  repair ${repair.category} ${repair.action} -> ${applied.ok ? applied.value.status : applied.error.code}`,
        );
      }
      await settle(3_600_000);
      const again = await app.services.reconciliation.run(ADMIN, { source, date });
      if (!again.ok) {
        failures.push(`second reconciliation of ${source} ${date} refused: ${again.error.code}`);
        continue;
      }
      const v = again.value;
      const misdated = v.missing_at_channel.filter((i) => {
        const booked = channelDay(source, i);
        return booked !== undefined && booked !== date;
      });
      if (misdated.length > 0) {
        note(`  ${misdated.length} item(s) missing at the channel on ${date} that it booked on another day (bug B1)`);
      }
      const left = (
        [
          ['missing_locally', v.missing_locally],
          ['missing_at_channel', v.missing_at_channel],
          ['amount_mismatch', v.amount_mismatch],
          ['status_mismatch', v.status_mismatch],
          ['duplicates', v.duplicates],
        ] as const
      )
        .filter(([, items]) => items.length > 0)
        .map(([k, items]) => `${k}: ${JSON.stringify(items.slice(0, 3))}`);
      if (left.length > 0) failures.push(`${source} ${date} not clean after its repairs: ${left.join('; ')}`);
    }
  }
  return failures;
}
