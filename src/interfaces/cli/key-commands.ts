import type { Command } from 'commander';
import type { RotationProgress, RotationReport } from '../../application/data-keys/data-keys-api.js';
import { withExitCodes } from './answers.js';

/** `keys rotate-data-key` stopped before every value was re-sealed: run it again. */
const EXIT_ROTATION_UNFINISHED = 3;

/** Where the local commands find the database and its master key (as `serve` does). */
export interface LocalStoreOptions {
  /** Database URL (sqlite:PATH or postgres://…), over the configured one. */
  readonly db?: string;
  /** Configuration file, over AUTOGLM_CONFIG. */
  readonly config?: string;
}

/** What the composition root gives the key commands. */
export interface KeyCliDeps {
  /** Rotate the data key of the local database (in this process, beside running instances). */
  readonly rotateDataKey?: (
    options: LocalStoreOptions,
    onProgress: (p: RotationProgress) => void,
  ) => Promise<RotationReport>;
  /** `plaintext` as an `enc:v1:` configuration value, under the configured master key. */
  readonly encryptSecret?: (plaintext: string, options: LocalStoreOptions) => Promise<string>;
  /** Everything on standard input. */
  readonly readStdin?: () => Promise<string>;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/**
 * The `keys` command group: found if another part of the CLI made it already, made otherwise, so
 * each set of key commands (data keys here; API keys elsewhere) registers into the one group.
 */
export function keysGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'keys') ??
    program.command('keys').description('keys: API keys (create, list, revoke) and the data keys sealing stored data')
  );
}

const local = (cmd: Command): Command =>
  cmd
    .option('--db <url>', 'database: sqlite:<path> or postgres://… (default: the configured one)')
    .option('-c, --config <file>', 'configuration file (JSON or YAML)');

const summary = (counts: Readonly<Record<string, number>>): string =>
  Object.entries(counts)
    .map(([column, n]) => `${column} ${n.toLocaleString('en-US')}`)
    .join(', ');

/** `autoglm keys rotate-data-key` and `autoglm secrets encrypt`: data at rest, on the local store. */
export function registerKeyCommands(
  program: Command,
  deps: KeyCliDeps,
  fail: (code: string, message: string) => never,
): void {
  local(
    withExitCodes(keysGroup(program).command('rotate-data-key'), {
      [EXIT_ROTATION_UNFINISHED]: 'not finished: some values are still sealed with older keys; run it again to resume',
    }).description(
      're-seal every stored phone number and conversation with a new data key, then retire the old one; ' +
        'runs beside the service (short transactions); run it again to resume an interrupted rotation',
    ),
  ).action(async (o: LocalStoreOptions) => {
    const rotate = deps.rotateDataKey ?? fail('UNSUPPORTED', 'rotation is not available here');
    // A line when a column's pass ends, and one every 10,000 values of a long one.
    let last: RotationProgress | undefined;
    let shownAt = 0;
    const show = (p: RotationProgress): void =>
      deps.err(`pass ${p.pass}: ${p.column}: ${p.resealed.toLocaleString('en-US')} re-sealed`);
    const report = await rotate(o, (p) => {
      if (last !== undefined && (last.column !== p.column || last.pass !== p.pass)) {
        show(last);
        shownAt = 0;
      } else if (p.resealed - shownAt >= 10_000) {
        show(p);
        shownAt = p.resealed;
      }
      last = p;
    });
    if (last !== undefined) show(last);
    deps.out(
      `${report.resumed ? 'resumed' : 'new'} data key ${report.keyId}: ${summary(report.resealed)} re-sealed ` +
        `in ${report.passes} pass${report.passes === 1 ? '' : 'es'}`,
    );
    if (report.done) {
      deps.out(report.retired.length === 0 ? 'no key to retire' : `retired ${report.retired.join(', ')}`);
    } else {
      deps.err(`not finished: still on older keys: ${summary(report.stale)}; run it again to resume`);
      process.exitCode = EXIT_ROTATION_UNFINISHED;
    }
  });

  const secrets = program.command('secrets').description('secrets for the configuration file');
  local(
    secrets
      .command('encrypt')
      .description(
        'read a secret on standard input and print it as an enc:v1: value for the configuration ' +
          '(decrypted with the master key when the configuration is loaded)',
      ),
  ).action(async (o: LocalStoreOptions) => {
    const encrypt = deps.encryptSecret ?? fail('UNSUPPORTED', 'encryption is not available here');
    const read = deps.readStdin ?? fail('UNSUPPORTED', 'standard input is not available here');
    // One trailing newline is the shell's (echo, a heredoc), not the secret's; a PEM keeps its own.
    const text = (await read()).replace(/\r?\n$/, '');
    if (text === '') fail('VALIDATION_FAILED', 'nothing on standard input to encrypt');
    deps.out(await encrypt(text, o));
  });
}
