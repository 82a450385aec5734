import { randomUUID } from 'node:crypto';
import { payerLines } from './pay-qr.js';
import type { Command } from 'commander';
import { EXIT, fenOf, heldLines, heldOf, problemLines, yuan } from './answers.js';

/** What the money commands need from the CLI around them. */
export interface MoneyCliDeps {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

interface ClientOptions {
  url: string;
  user?: string;
  json?: boolean;
  apiKey?: string | undefined;
  /** Confirm an action the policy held for you (the person's own act). */
  yes?: boolean;
}

type Call = (
  o: ClientOptions,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<{ status: number; body: unknown }>;

type Row = Record<string, unknown>;

const idem = (): Record<string, string> => ({ 'idempotency-key': randomUUID() });
const at = (path: string, id: string): string => path.replace(':id', encodeURIComponent(id));

function topUpLine(t: Row): string {
  return `top-up ${String(t.id)}  ${String(t.status).padEnd(9)} ${yuan(t.amount)} ${String(t.currency)}${
    typeof t.failure_code === 'string' ? `  (${t.failure_code})` : ''
  }`;
}

function rechargeLine(r: Row): string {
  const why = typeof r.failure_reason === 'string' ? `  (${r.failure_reason})` : '';
  return (
    `recharge ${String(r.id)}  ${String(r.status).padEnd(17)} ${String(r.phone)} ` +
    `${yuan(r.amount)} ${String(r.currency)}  paid by ${String(r.paid_by)}${why}`
  );
}

function refundLine(r: Row): string {
  const why = typeof r.failure_code === 'string' ? `  (${r.failure_code})` : '';
  return (
    `refund ${String(r.id)}  ${String(r.status).padEnd(15)} ${yuan(r.amount)} ${String(r.currency)}  ` +
    `order ${String(r.order_id)}  out_refund_no ${String(r.out_refund_no)}${why}`
  );
}

function flagLine(f: Row): string {
  const actions = Array.isArray(f.actions) && f.actions.length > 0 ? `  actions: ${f.actions.join(', ')}` : '';
  const state = f.resolved_at === null ? 'open' : `resolved by ${String(f.resolved_by)}: ${String(f.resolution_note)}`;
  return `${String(f.id)}  ${String(f.code).padEnd(22)} ${String(f.resource_type)}:${String(f.resource_id)}  ${String(
    f.created_at,
  )}  ${state}${actions}`;
}

/** What one answer's body holds, as lines for a person. */
function describe(body: unknown): string[] {
  const b = (body ?? {}) as Row;
  const lines: string[] = [];
  if (typeof b.wallet === 'object' && b.wallet !== null) {
    const w = b.wallet as Row;
    lines.push(`wallet of ${String(w.user_id)}: ${yuan(w.balance)} ${String(w.currency)}`);
  }
  if (typeof b.top_up === 'object' && b.top_up !== null) lines.push(topUpLine(b.top_up as Row));
  if (typeof b.recharge === 'object' && b.recharge !== null) lines.push(rechargeLine(b.recharge as Row));
  if (typeof b.refund === 'object' && b.refund !== null) lines.push(refundLine(b.refund as Row));
  if (typeof b.flag === 'object' && b.flag !== null) lines.push(flagLine(b.flag as Row));
  if (typeof b.next === 'string') lines.push(`next: ${b.next}`);
  return lines.length > 0 ? lines : [JSON.stringify(body, null, 2)];
}

/** The client commands for money a person or an operator moves and looks after. */
export function registerMoneyCommands(
  program: Command,
  deps: MoneyCliDeps,
  client: (cmd: Command) => Command,
  call: Call,
  fail: (code: string, message: string) => never,
): void {
  /**
   * Print an answer: refusals on stderr with their code, request id and details (exit 1); an
   * action held for the person is confirmed with --yes, else left unconfirmed (exit 2).
   */
  const report = async (o: ClientOptions, r: { status: number; body: unknown }): Promise<void> => {
    const held = r.status === 202 ? heldOf(r.body) : undefined;
    if (held !== undefined && o.yes === true) {
      deps.err(`confirming: ${held.what}`);
      const confirmed = await call(o, 'POST', held.confirm.path, held.confirm.body);
      return report({ ...o, yes: false }, confirmed);
    }
    if (o.json === true) deps.out(JSON.stringify(r.body));
    if (r.status >= 400) {
      for (const l of problemLines(r.status, r.body)) deps.err(l);
      process.exitCode = EXIT.refused;
      return;
    }
    if (held !== undefined) {
      for (const l of heldLines(held)) deps.err(l);
      process.exitCode = EXIT.unconfirmed;
      return;
    }
    if (o.json === true) return;
    for (const l of describe(r.body)) deps.out(l);
    // A top-up or a directly paid recharge waiting for its payer: the QR code to scan, the page to open.
    const b = (r.body ?? {}) as Row;
    const waiting = (b.top_up ?? b.recharge) as Row | undefined;
    for (const l of await payerLines(waiting)) deps.out(l);
  };
  const amountOf = (text: string): number =>
    fenOf(text) ??
    fail('INVALID_AMOUNT', `"${text}" is not an amount in yuan (e.g. 50 or 50.50: no sign, at most two decimals)`);

  // ── wallet ────────────────────────────────────────────────────────────────
  const wallet = program.command('wallet').description('your prepaid wallet: balance and top-ups');
  client(wallet.command('balance').description('show the wallet balance')).action(async (o: ClientOptions) => {
    await report(o, await call(o, 'GET', '/api/v1/wallet'));
  });
  client(
    wallet
      .command('top-up <amount>')
      .description('put money on the wallet through the payment gateway, e.g. `autoglm wallet top-up 100` (yuan)')
      .option('--yes', 'if the policy holds the top-up for your confirmation, confirm it'),
  ).action(async (amount: string, o: ClientOptions) => {
    await report(o, await call(o, 'POST', '/api/v1/wallet/top-ups', { amount: amountOf(amount) }, idem()));
  });
  client(wallet.command('top-up-status <id>').description('show one top-up')).action(
    async (id: string, o: ClientOptions) => {
      await report(o, await call(o, 'GET', at('/api/v1/wallet/top-ups/:id', id)));
    },
  );

  // ── recharge ──────────────────────────────────────────────────────────────
  const recharge = program.command('recharge').description('phone recharges (话费)');
  client(
    recharge
      .command('create <phone> <amount>')
      .description('recharge a phone with a face value in yuan, e.g. `autoglm recharge create 13800138000 50`')
      .option('--direct', 'pay it by a payment of its own instead of from the wallet')
      .option('--yes', 'if the policy holds the recharge for your confirmation, confirm it'),
  ).action(async (phone: string, amount: string, o: ClientOptions & { direct?: boolean }) => {
    const body = { phone, amount: amountOf(amount), ...(o.direct === true ? { pay: 'direct' } : {}) };
    await report(o, await call(o, 'POST', '/api/v1/recharges', body, idem()));
  });
  client(recharge.command('show <id>').description('show a recharge')).action(async (id: string, o: ClientOptions) => {
    await report(o, await call(o, 'GET', at('/api/v1/recharges/:id', id)));
  });

  // ── refund ────────────────────────────────────────────────────────────────
  const refund = program.command('refund').description('refunds: ask for one, follow it, recover a failed one');
  client(
    refund
      .command('order <order-id>')
      .description('give back what an order paid: all that is left, or --amount (yuan)')
      .option('--amount <yuan>', 'how much, in yuan (default: all that is left)')
      .option('--reason <text>', 'why, kept with the refund')
      .option('--yes', 'if the policy holds the refund for your confirmation, confirm it'),
  ).action(async (orderId: string, o: ClientOptions & { amount?: string; reason?: string }) => {
    const body = {
      ...(o.amount === undefined ? {} : { amount: amountOf(o.amount) }),
      ...(o.reason === undefined ? {} : { reason: o.reason }),
    };
    await report(o, await call(o, 'POST', at('/api/v1/orders/:id/refund', orderId), body, idem()));
  });
  client(refund.command('show <refund-id>').description('show a refund')).action(
    async (id: string, o: ClientOptions) => {
      await report(o, await call(o, 'GET', at('/api/v1/refunds/:id', id)));
    },
  );
  client(refund.command('list <order-id>').description("an order's refunds")).action(
    async (id: string, o: ClientOptions) => {
      const r = await call(o, 'GET', at('/api/v1/orders/:id/refunds', id));
      if (o.json === true || r.status >= 400) return report(o, r);
      for (const x of (r.body as { data: Row[] }).data) deps.out(refundLine(x));
    },
  );
  client(
    refund.command('retry <refund-id>').description('send a FAILED refund again (same refund, same out_refund_no)'),
  ).action(async (id: string, o: ClientOptions) => {
    await report(o, await call(o, 'POST', at('/api/v1/refunds/:id/retry', id), {}));
  });
  client(
    refund
      .command('settle-outside <refund-id>')
      .description('record a FAILED refund as settled outside the system (operators; audited)')
      .requiredOption('--note <text>', 'how it was settled (bank transfer, cash, waived by agreement…)'),
  ).action(async (id: string, o: ClientOptions & { note: string }) => {
    await report(o, await call(o, 'POST', at('/api/v1/refunds/:id/settle-outside', id), { note: o.note }));
  });

  // ── flags ─────────────────────────────────────────────────────────────────
  const flags = program.command('flags').description('review flags: what the service handed to a person');
  client(
    flags
      .command('list')
      .description('list review flags, newest first (open ones by default)')
      .option('--status <status>', 'open, resolved or all', 'open')
      .option('--code <code>', 'only this kind, e.g. REFUND_FAILED')
      .option('--resource <type:id>', 'only about this resource, e.g. refund:rfd_…')
      .option('--since <instant>', 'raised at or after this ISO 8601 instant')
      .option('-n, --limit <n>', 'how many', '50'),
  ).action(
    async (o: ClientOptions & { status: string; code?: string; resource?: string; since?: string; limit: string }) => {
      const [type, rid] = o.resource === undefined ? [] : o.resource.split(':', 2);
      if (o.resource !== undefined && (rid === undefined || rid === '')) {
        fail('VALIDATION_FAILED', '--resource is type:id, e.g. refund:rfd_123');
      }
      const qs = new URLSearchParams({
        status: o.status,
        limit: o.limit,
        ...(o.code === undefined ? {} : { code: o.code }),
        ...(type === undefined ? {} : { resource_type: type }),
        ...(rid === undefined ? {} : { resource_id: rid }),
        ...(o.since === undefined ? {} : { since: o.since }),
      });
      const r = await call(o, 'GET', `/api/v1/review-flags?${qs.toString()}`);
      if (o.json === true || r.status >= 400) return report(o, r);
      const data = (r.body as { data: Row[] }).data;
      if (data.length === 0) deps.out('no flags');
      for (const f of data) deps.out(flagLine(f));
    },
  );
  client(flags.command('show <flag-id>').description('show one flag and what may be done about it')).action(
    async (id: string, o: ClientOptions) => {
      await report(o, await call(o, 'GET', at('/api/v1/review-flags/:id', id)));
    },
  );
  client(
    flags
      .command('resolve <flag-id>')
      .description('resolve a flag with a note (operators; audited)')
      .requiredOption('--note <text>', 'why it is resolved'),
  ).action(async (id: string, o: ClientOptions & { note: string }) => {
    await report(o, await call(o, 'POST', at('/api/v1/review-flags/:id/resolve', id), { note: o.note }));
  });
  client(
    flags
      .command('act <flag-id> <action>')
      .description(
        'take an action the flag offers: retry_refund, settle_refund_outside, close_trade, settle_from_channel',
      )
      .option('--note <text>', 'required to settle outside; kept as the resolution otherwise'),
  ).action(async (id: string, action: string, o: ClientOptions & { note?: string }) => {
    const body = { action, ...(o.note === undefined ? {} : { note: o.note }) };
    await report(o, await call(o, 'POST', at('/api/v1/review-flags/:id/actions', id), body));
  });

  // ── ledger ────────────────────────────────────────────────────────────────
  const ledger = program.command('ledger').description('the books: balances and the whole-book check');
  client(ledger.command('balances').description("every account's balance; exits 1 if a journal is unbalanced")).action(
    async (o: ClientOptions) => {
      const r = await call(o, 'GET', '/api/v1/ledger/balances');
      if (o.json === true || r.status >= 400) await report(o, r);
      if (r.status >= 400) return;
      const b = r.body as { data: Row[]; balanced: boolean };
      if (o.json !== true) {
        for (const x of b.data)
          deps.out(`${String(x.account).padEnd(40)} ${yuan(x.balance).padStart(14)} ${String(x.currency)}`);
        deps.out(b.balanced ? 'balanced' : 'UNBALANCED');
      }
      if (!b.balanced) fail('LEDGER_UNBALANCED', 'some journal does not sum to zero: see GET /api/v1/ledger/balances');
    },
  );
  client(
    ledger
      .command('check')
      .description('every journal balances and every resource has the journals its state requires; exits 1 if not'),
  ).action(async (o: ClientOptions) => {
    const r = await call(o, 'GET', '/api/v1/ledger/check');
    if (o.json === true || r.status >= 400) await report(o, r);
    if (r.status >= 400) return;
    const c = r.body as { balanced: boolean; complete: boolean; checked: number; incomplete: Row[] };
    if (o.json !== true) {
      const verdict = `${c.balanced ? 'balanced' : 'UNBALANCED'}, ${c.complete ? 'complete' : 'INCOMPLETE'}`;
      deps.out(`checked ${c.checked} resources: ${verdict}`);
      for (const i of c.incomplete.slice(0, 20))
        deps.out(`  ${String(i.resource_type)} ${String(i.resource_id)}: ${JSON.stringify(i)}`);
    }
    if (!c.balanced || !c.complete) fail('LEDGER_CHECK_FAILED', 'the books do not agree with what happened');
  });
}
