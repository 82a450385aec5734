import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import type { Command } from 'commander';
import { readLines } from '../../application/batch/batch-api.js';
import { withExitCodes } from './answers.js';
import { credentialHeaders } from './credentials.js';

/** What the batch commands need from the CLI around them. */
export interface BatchCliDeps {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Redraw one status line in place (a terminal); absent: progress is printed as plain lines. */
  readonly progress?: (line: string) => void;
  /** Milliseconds between progress polls (tests make it short). */
  readonly pollMs?: number;
}

interface BatchOptions {
  url: string;
  user?: string;
  apiKey?: string | undefined;
  json?: boolean;
  out?: string;
  format?: 'csv' | 'ndjson';
  idempotencyKey?: string;
  new?: boolean;
  wait: boolean;
  yes?: boolean;
}

/** A batch the policy held whole for the person: what they are shown, and how to confirm exactly that. */
interface HeldBatch {
  what: string;
  confirm: { path: string; body: { digest: string } };
}

interface BatchView {
  id: string;
  status: string;
  rows: number;
  valid: number;
  accepted: number;
  pending: number;
  rejected_count: number;
  rejected: Array<{ line: number; code: string; message: string }>;
  succeeded: number;
  failed: number;
  finished: number;
  done: boolean;
  results: string;
}

class BatchCliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Exit code when the batch ended but some rows failed or were refused (0: every row succeeded). */
export const EXIT_SOME_ROWS_FAILED = 3;

const group = (n: number): string => n.toLocaleString('en-US');

async function sha256Of(file: string): Promise<Buffer> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest();
}

function bar(v: BatchView, startedAt: number, now: number): string {
  const total = Math.max(1, v.rows);
  const done = v.finished + v.rejected_count;
  const width = 28;
  const filled = Math.min(width, Math.round((done / total) * width));
  const seconds = Math.max(0.001, (now - startedAt) / 1000);
  const rate = v.finished / seconds;
  const left = v.accepted + v.pending - v.finished;
  const eta = rate > 0 && left > 0 ? ` · ETA ${Math.ceil(left / rate)}s` : '';
  return (
    `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` +
    `${String(Math.floor((done / total) * 100)).padStart(3)}% ${group(done)}/${group(v.rows)} · ` +
    `${group(v.succeeded)} ok · ${group(v.failed)} failed · ${group(v.rejected_count)} refused · ` +
    `${rate.toFixed(0)}/s${eta}`
  );
}

/** The phone cell of an original line, to put back what the service masks. */
function phoneIn(text: string, format: 'csv' | 'ndjson'): string {
  if (format === 'csv') return (text.split(',')[0] ?? '').trim().replace(/^"(.*)"$/, '$1');
  try {
    const v = JSON.parse(text) as { phone?: unknown };
    return typeof v.phone === 'string' || typeof v.phone === 'number' ? String(v.phone) : '';
  } catch {
    return '';
  }
}

/**
 * Write the result file: the service's lines in file order, with each number taken back from the
 * caller's own file (the service masks numbers in every answer). Both are read as streams.
 */
async function writeResults(res: Response, input: string, format: 'csv' | 'ndjson', outFile: string): Promise<number> {
  if (res.body === null) throw new BatchCliError('RESULTS_UNAVAILABLE', 'the service sent no result file');
  const original = readLines(createReadStream(input))[Symbol.asyncIterator]();
  let at = { line: 0, text: '' };
  const out = createWriteStream(outFile);
  let rows = 0;
  for await (const { text } of readLines(res.body as AsyncIterable<Uint8Array>)) {
    if (text === '') continue;
    const cells = text.split(',');
    const line = Number(cells[0]);
    if (Number.isInteger(line) && line > 0) {
      while (at.line < line) {
        const next = await original.next();
        if (next.done === true) break;
        at = next.value;
      }
      if (at.line === line) cells[1] = phoneIn(at.text, format).replace(/[,\r\n"]/g, '');
      rows += 1;
    }
    if (!out.write(`${cells.join(',')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return rows;
}

/** `autoglm batch recharge FILE`: upload as a stream, follow with a progress bar, write the result file. */
export function registerBatchCommands(
  program: Command,
  deps: BatchCliDeps,
  client: (cmd: Command) => Command,
  fail: (code: string, message: string) => never,
): void {
  const batch = program.command('batch').description('many operations from one file');
  client(
    withExitCodes(batch.command('recharge <file>'), {
      [EXIT_SOME_ROWS_FAILED]: 'the batch ran, but some rows failed or were refused (see the result file)',
    })
      .description('top up every phone in a CSV (phone,amount in fen) or JSON-lines file from your wallet')
      .option('-o, --out <file>', 'where to write the result file (default: <file>.results.csv)')
      .option('--format <format>', 'csv or ndjson (default: from the file name)')
      .option(
        '-k, --idempotency-key <key>',
        'Idempotency-Key (default: from the file content, so submitting the same file again follows the first batch)',
      )
      .option('--new', 'submit the file as a new batch even if the same content was submitted before')
      .option('--yes', 'if the policy holds the batch for your confirmation, confirm it (count and total are printed)')
      .option('--no-wait', 'return once the batch is accepted'),
  ).action(async (file: string, o: BatchOptions) => {
    try {
      await recharge(file, o);
    } catch (e) {
      if (e instanceof BatchCliError) fail(e.code, e.message);
      throw e;
    }
  });

  /** The policy held the batch: with --yes the person confirms exactly what was shown; without, they are told how. */
  async function confirmHeld(o: BatchOptions, view: BatchView, held: HeldBatch): Promise<BatchView> {
    deps.err(`held for your confirmation: ${held.what}`);
    if (o.yes !== true) {
      throw new BatchCliError(
        'CONFIRMATION_REQUIRED',
        `run again with --yes to confirm, or POST ${held.confirm.path} with {"digest":"${held.confirm.body.digest}"}`,
      );
    }
    const res = await fetch(new URL(held.confirm.path, o.url), {
      method: 'POST',
      headers: { ...credentialHeaders(o.apiKey, o.user), 'content-type': 'application/json' },
      body: JSON.stringify(held.confirm.body),
    });
    const answer = (await res.json().catch(() => null)) as { batch?: BatchView; code?: string; detail?: string } | null;
    if (!res.ok || answer?.batch === undefined) {
      throw new BatchCliError(
        answer?.code ?? String(res.status),
        answer?.detail ?? `the service answered ${res.status}`,
      );
    }
    deps.err(`confirmed: batch ${view.id} starts`);
    return answer.batch;
  }

  async function recharge(file: string, o: BatchOptions): Promise<void> {
    const info = await stat(file).catch(() => undefined);
    if (info?.isFile() !== true) throw new BatchCliError('FILE_NOT_FOUND', `no file ${file}`);
    const format = o.format ?? (/\.(ndjson|jsonl)$/i.test(file) ? 'ndjson' : 'csv');
    if (format !== 'csv' && format !== 'ndjson')
      throw new BatchCliError('VALIDATION_FAILED', '--format is csv or ndjson');
    const digest = await sha256Of(file);
    const key =
      o.idempotencyKey ?? (o.new === true ? `batch-${randomUUID()}` : `batch-${digest.toString('hex').slice(0, 40)}`);
    let res: Response;
    try {
      res = await fetch(new URL('/api/v1/recharges/batch', o.url), {
        method: 'POST',
        headers: {
          ...credentialHeaders(o.apiKey, o.user),
          'content-type': format === 'csv' ? 'text/csv' : 'application/x-ndjson',
          'content-length': String(info.size),
          'content-digest': `sha-256=:${digest.toString('base64')}:`,
          'idempotency-key': key,
        },
        body: createReadStream(file),
        duplex: 'half',
      });
    } catch (e) {
      throw new BatchCliError(
        'SERVICE_UNREACHABLE',
        `cannot reach ${o.url}: is \`autoglm serve\` running? (${e instanceof Error ? e.message : String(e)})`,
      );
    }
    const answer = (await res.json().catch(() => null)) as {
      batch?: BatchView;
      held?: HeldBatch;
      code?: string;
      detail?: string;
    } | null;
    if (!res.ok || answer?.batch === undefined)
      throw new BatchCliError(
        answer?.code ?? String(res.status),
        answer?.detail ?? `the service answered ${res.status}`,
      );
    let view = answer.batch;
    if (res.headers.get('idempotent-replayed') === 'true') {
      deps.err(`this file was already submitted as batch ${view.id}; following it (use --new to submit it again)`);
    }
    if (answer.held !== undefined) view = await confirmHeld(o, view, answer.held);
    if (o.json === true && !o.wait) {
      deps.out(JSON.stringify(view));
      return;
    }
    deps.out(
      `batch ${view.id}: ${group(view.rows)} rows, ${group(view.valid)} valid, ${group(view.rejected_count)} refused`,
    );
    for (const r of view.rejected.slice(0, 10)) deps.out(`  line ${r.line}: ${r.code} — ${r.message}`);
    if (view.rejected_count > 10) deps.out(`  … and ${group(view.rejected_count - 10)} more in the result file`);
    if (!o.wait) {
      deps.out(`follow it: GET ${view.results.replace(/\/results$/, '')}`);
      return;
    }

    const startedAt = Date.now();
    let lastPrinted = 0;
    const pollMs = deps.pollMs ?? 500;
    for (;;) {
      const now = Date.now();
      if (deps.progress !== undefined) deps.progress(bar(view, startedAt, now));
      else if (now - lastPrinted >= 5000 || view.done) {
        deps.err(bar(view, startedAt, now));
        lastPrinted = now;
      }
      if (view.done) break;
      await new Promise((r) => setTimeout(r, pollMs));
      const r = await fetch(new URL(`/api/v1/batches/${view.id}`, o.url), {
        headers: credentialHeaders(o.apiKey, o.user),
      }).catch(() => undefined);
      if (r?.ok === true) view = ((await r.json()) as { batch: BatchView }).batch;
    }
    if (deps.progress !== undefined) deps.progress('');

    const outFile = o.out ?? `${file}.results.csv`;
    const results = await fetch(new URL(view.results, o.url), { headers: credentialHeaders(o.apiKey, o.user) });
    if (!results.ok)
      throw new BatchCliError('RESULTS_UNAVAILABLE', `the service answered ${results.status} for the result file`);
    const written = await writeResults(results, file, format, outFile);
    const seconds = (Date.now() - startedAt) / 1000;
    if (o.json === true) deps.out(JSON.stringify({ ...view, results_file: outFile }));
    else {
      deps.out(
        `batch ${view.id} done in ${seconds.toFixed(1)} s: ${group(view.succeeded)} succeeded, ` +
          `${group(view.failed)} failed, ${group(view.rejected_count)} refused`,
      );
      deps.out(`results (${group(written)} rows): ${outFile}`);
    }
    if (view.failed > 0 || view.rejected_count > 0) process.exitCode = EXIT_SOME_ROWS_FAILED;
  }
}
