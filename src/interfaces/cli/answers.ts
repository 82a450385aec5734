import type { Command } from 'commander';

/**
 * How the client commands report what the service answered, in one place: a refusal prints one
 * `error CODE: detail (request …)` line, then each validation detail; an action the policy held
 * for the person prints what waits and how to confirm it. Exit codes say which it was.
 */
export const EXIT = {
  ok: 0,
  /** The service (or the CLI's own check) refused the request. */
  refused: 1,
  /** The action was left unconfirmed: held for the person, or waiting for them (nothing was paid yet). */
  unconfirmed: 2,
} as const;

/** What each shared exit code means, for `--help` and the CLI reference (docs/reference/cli.md). */
export const EXIT_MEANINGS: Readonly<Record<keyof typeof EXIT, string>> = {
  ok: 'done (a client command: the service accepted the request)',
  refused:
    'refused: the service answered with a problem (`error CODE: detail (request …)` on stderr), the CLI ' +
    'refused its arguments, or the service could not be reached',
  unconfirmed: 'held for the person: the action waits for their confirmation, nothing was paid yet',
};

const DECLARED_EXIT_CODES = new WeakMap<Command, Readonly<Record<number, string>>>();

/**
 * The exit codes a command gives beyond the shared ones (EXIT): shown in its `--help` and listed in
 * the generated CLI reference, so the two cannot say different things.
 */
export function withExitCodes(cmd: Command, codes: Readonly<Record<number, string>>): Command {
  DECLARED_EXIT_CODES.set(cmd, codes);
  const lines = Object.entries(codes).map(([code, meaning]) => `  ${code}  ${meaning}`);
  return cmd.addHelpText('after', `\nExit codes besides 0 and 1:\n${lines.join('\n')}`);
}

export function declaredExitCodes(cmd: Command): Readonly<Record<number, string>> {
  return DECLARED_EXIT_CODES.get(cmd) ?? {};
}

interface ProblemBody {
  readonly code?: string;
  readonly detail?: string;
  readonly request_id?: string;
  readonly errors?: ReadonlyArray<Record<string, unknown>>;
}

/** The lines a refusal prints: the code, what it says, the request id to quote, and each detail. */
export function problemLines(status: number, body: unknown): string[] {
  const p = (typeof body === 'object' && body !== null ? body : {}) as ProblemBody;
  const detail = p.detail ?? (typeof body === 'string' && body !== '' ? body : `the service answered ${status}`);
  const request = p.request_id === undefined ? '' : ` (request ${p.request_id})`;
  const head = `error ${p.code ?? String(status)}: ${detail}${request}`;
  const details = (p.errors ?? []).map((e) => {
    const where = typeof e.field === 'string' ? e.field : typeof e.code === 'string' ? e.code : '';
    const why = typeof e.message === 'string' ? e.message : JSON.stringify(e);
    return `  ${where === '' ? '' : `${where}: `}${why}`;
  });
  return [head, ...details];
}

/** A money action the policy held: what the person is asked to confirm, and how. */
export interface HeldAnswer {
  readonly id: string;
  readonly what: string;
  readonly confirm: { readonly method: string; readonly path: string; readonly body: { readonly digest: string } };
}

export function heldOf(body: unknown): HeldAnswer | undefined {
  const held = (body as { held?: HeldAnswer } | null)?.held;
  return held !== undefined && typeof held.confirm?.path === 'string' ? held : undefined;
}

export function heldLines(held: HeldAnswer): string[] {
  return [
    `held for your confirmation: ${held.what}`,
    `confirm it with --yes, or ${held.confirm.method} ${held.confirm.path} {"digest":"${held.confirm.body.digest}"}`,
  ];
}

/**
 * An amount in yuan as the person types it ("50", "50.5", "50.50") to fen, exactly: no sign, no
 * exponent, at most two decimals — anything else is refused rather than guessed.
 */
export function fenOf(yuan: string): number | undefined {
  const m = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(yuan.trim());
  if (m === null) return undefined;
  const fen = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  return fen > 0 ? fen : undefined;
}

export function yuan(fen: unknown): string {
  return typeof fen === 'number' ? (fen / 100).toFixed(2) : String(fen);
}
