import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { PROBLEM_CATEGORIES } from '../../domain/statements/reconcile.js';
import { STATEMENT_FORMATS } from '../../domain/statements/statement-line.js';
import { EXIT, problemLines, withExitCodes, yuan } from './answers.js';

/** `autoglm reconcile` found problems a person or a repair must answer (the run itself worked). */
export const EXIT_UNRECONCILED = 3;

const FORMATS = STATEMENT_FORMATS;
const CATEGORIES = PROBLEM_CATEGORIES;

export interface ReconcileRequest {
  readonly source: string;
  readonly date: string;
  readonly file?: { readonly bytes: Uint8Array; readonly name: string; readonly format?: (typeof FORMATS)[number] };
}

/** How a run on the local database goes (`--db`), given by the composition root; an HTTP-shaped answer. */
export interface ReconcileCliDeps {
  readonly reconcileLocal?: (
    options: { readonly db: string; readonly config?: string },
    request: ReconcileRequest,
  ) => Promise<{ status: number; body: unknown }>;
}

interface Options {
  source: string;
  date: string;
  file?: string;
  format?: (typeof FORMATS)[number];
  db?: string;
  config?: string;
  url: string;
  json?: boolean;
  apiKey?: string;
}

type Call = (
  o: { url: string; apiKey?: string | undefined },
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: unknown }>;

const date = (v: string): string => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) throw new InvalidArgumentError('a day as YYYY-MM-DD');
  return v;
};
const format = (v: string): (typeof FORMATS)[number] => {
  if (!(FORMATS as readonly string[]).includes(v)) throw new InvalidArgumentError(`one of ${FORMATS.join(', ')}`);
  return v as (typeof FORMATS)[number];
};

/** A report as lines for a person: the counts, each problem with its repair, the totals in yuan. */
export function reportLines(rec: Record<string, unknown>): string[] {
  const totals = rec.totals as { statement: Record<string, number>; categories: Record<string, { count: number }> };
  const s = totals.statement;
  const lines = [
    `reconciliation ${String(rec.id)}: ${String(rec.source)} ${String(rec.date)} ` +
      `(${String(rec.file)}, ${String(rec.format)})`,
    `statement: ${s.lines} lines; payments ${yuan(s.payments)}, refunds ${yuan(s.refunds)}, ` +
      `recharges ${yuan(s.recharges)}, fees ${yuan(s.fees)} CNY`,
    `matched ${totals.categories.matched?.count ?? 0}, explained ${totals.categories.explained?.count ?? 0}` +
      CATEGORIES.map((c) => `, ${c} ${totals.categories[c]?.count ?? 0}`).join(''),
  ];
  const repairs = new Map(
    ((rec.repairs ?? []) as Array<Record<string, unknown>>).map((r) => [String(r.item_key), r] as const),
  );
  for (const c of CATEGORIES) {
    for (const item of (rec[c] ?? []) as Array<Record<string, unknown>>) {
      const r = repairs.get(String(item.key));
      const side = (amount: unknown, status: unknown): string =>
        `${typeof amount === 'number' ? yuan(amount) : '-'} ${typeof status === 'string' ? status : '-'}`;
      lines.push(
        `  ${c}: ${String(item.key)}  ours ${side(item.local_amount, item.local_status)}  ` +
          `theirs ${side(item.channel_amount, item.channel_status)}` +
          (r === undefined ? '' : `  → ${String(r.action)} ${String(r.id)} (${String(r.status)})`),
      );
    }
  }
  lines.push(
    rec.clean === true ? 'clean: nothing unexplained' : 'NOT clean: apply the repairs above or look into them',
  );
  return lines;
}

/**
 * `autoglm reconcile --source NAME --date YYYY-MM-DD [--file PATH [--format F]] [--json]
 * [--db URL | --url URL]` and `autoglm reconcile-repair ID`: through a running service (admin key),
 * or with `--db` on the database directly. Exit 0 clean, 3 not clean, 1 refused.
 */
export function registerReconcileCommands(
  program: Command,
  deps: ReconcileCliDeps & { readonly out: (l: string) => void; readonly err: (l: string) => void },
  client: (cmd: Command) => Command,
  call: Call,
  fail: (code: string, message: string) => never,
): void {
  const show = (o: { json?: boolean }, r: { status: number; body: unknown }): void => {
    const rec = r.status >= 400 ? undefined : (r.body as { reconciliation?: Record<string, unknown> }).reconciliation;
    // --json prints the report itself: its top level holds the categories and totals (a refusal: the problem).
    if (o.json === true) deps.out(JSON.stringify(rec ?? r.body));
    if (r.status >= 400) {
      for (const l of problemLines(r.status, r.body)) deps.err(l);
      process.exitCode = EXIT.refused;
      return;
    }
    if (rec === undefined) return;
    if (o.json !== true) for (const l of reportLines(rec)) deps.out(l);
    if (rec.clean !== true) process.exitCode = EXIT_UNRECONCILED;
  };

  client(
    withExitCodes(program.command('reconcile'), {
      [EXIT_UNRECONCILED]: 'the reconciliation found differences (the report lists them and the repairs proposed)',
    })
      .description("check a day of our records against a gateway's or recharge channel's statement (对账)")
      .requiredOption('--source <name>', 'the gateway or recharge channel (e.g. simulator, alipay, juhe)')
      .requiredOption('--date <YYYY-MM-DD>', 'the business day (Asia/Shanghai)', date)
      .option('--file <path>', 'a statement you downloaded yourself (default: fetched from the source)')
      .option('--format <layout>', "the file's layout: alipay, wechatpay or juhe (default: the source's own)", format)
      .option('--db <url>', 'run on this database directly (sqlite:<path> or postgres://…) instead of --url')
      .option('-c, --config <file>', 'configuration file, with --db'),
  ).action(async (o: Options) => {
    if (o.format !== undefined && o.file === undefined)
      fail('VALIDATION_FAILED', '--format names the layout of --file');
    let file: ReconcileRequest['file'];
    if (o.file !== undefined) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(o.file);
      } catch (e) {
        return fail('FILE_UNREADABLE', `cannot read ${o.file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      file = { bytes, name: basename(o.file), ...(o.format === undefined ? {} : { format: o.format }) };
    }
    const request: ReconcileRequest = { source: o.source, date: o.date, ...(file === undefined ? {} : { file }) };
    if (o.db !== undefined) {
      if (deps.reconcileLocal === undefined) return fail('UNSUPPORTED', 'this build cannot open a database directly');
      show(
        o,
        await deps.reconcileLocal({ db: o.db, ...(o.config === undefined ? {} : { config: o.config }) }, request),
      );
      return;
    }
    show(
      o,
      await call(o, 'POST', '/api/v1/reconciliations', {
        source: request.source,
        date: request.date,
        ...(file === undefined
          ? {}
          : {
              statement: {
                content_base64: Buffer.from(file.bytes).toString('base64'),
                name: file.name,
                ...(file.format === undefined ? {} : { format: file.format }),
              },
            }),
      }),
    );
  });

  client(
    program.command('reconcile-repair <repair-id>').description('apply a repair a reconciliation proposed'),
  ).action(async (id: string, o: Options) => {
    const r = await call(o, 'POST', `/api/v1/reconciliation-repairs/${encodeURIComponent(id)}/apply`, {});
    if (o.json === true) deps.out(JSON.stringify(r.body));
    if (r.status >= 400) {
      for (const l of problemLines(r.status, r.body)) deps.err(l);
      process.exitCode = EXIT.refused;
      return;
    }
    const rep = (r.body as { repair: Record<string, unknown> }).repair;
    if (o.json !== true)
      deps.out(`repair ${String(rep.id)} ${String(rep.action)}: ${String(rep.status)} — ${String(rep.result)}`);
    if (rep.status !== 'applied') process.exitCode = EXIT.refused;
  });
}
