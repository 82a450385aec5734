import type { Command } from 'commander';
import type { ChainReport } from '../../application/audit/audit-api.js';
import type { LocalStoreOptions } from './key-commands.js';

/** `audit verify`'s options: which tenant, which checkpoint file. */
export interface AuditVerifyOptions extends LocalStoreOptions {
  readonly tenant?: string;
  /** A file of checkpoint lines (as the service appends to audit.checkpoint_file). */
  readonly checkpoint?: string;
  readonly json?: boolean;
}

/** What the composition root gives the audit commands: the chain check on the local database. */
export interface AuditCliDeps {
  readonly verifyAudit?: (options: AuditVerifyOptions) => Promise<ChainReport>;
  /** Append every tenant's chain head to `out` (or the configured file) now; returns the line written. */
  readonly checkpointAudit?: (options: LocalStoreOptions & { readonly out?: string }) => Promise<string>;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const local = (cmd: Command): Command =>
  cmd
    .option('--db <url>', 'database: sqlite:<path> or postgres://… (default: the configured one)')
    .option('-c, --config <file>', 'configuration file (JSON or YAML)');

/** `autoglm audit verify` and `autoglm audit checkpoint`: the tamper-evident audit log, on the local store. */
export function registerAuditCommands(
  program: Command,
  deps: AuditCliDeps,
  fail: (code: string, message: string) => never,
): void {
  const audit = program.command('audit').description('the audit log: check its hash chains, checkpoint their heads');
  local(
    audit
      .command('verify')
      .description(
        'walk every tenant’s hash chains (or one tenant’s) and name the first edited, deleted, inserted ' +
          'or reordered row; ' +
          'exits 1 when one is found',
      )
      .option('-t, --tenant <id>', 'only this tenant’s chain')
      .option('--checkpoint <file>', 'also check the chain still holds every head this checkpoint file pinned')
      .option('--json', 'print the whole report as JSON'),
  ).action(async (o: AuditVerifyOptions) => {
    const verify = deps.verifyAudit ?? fail('UNSUPPORTED', 'audit verification is not available here');
    const report = await verify(o);
    if (o.json === true) {
      deps.out(JSON.stringify(report, null, 2));
      if (!report.ok) process.exitCode = 1;
      return;
    }
    for (const t of report.tenants) {
      deps.out(
        `tenant ${t.tenantId}: ${t.rows.toLocaleString('en-US')} rows in ${t.chains.length} chain(s)` +
          (t.problem === undefined ? ' intact' : ', then broken'),
      );
    }
    const p = report.problem;
    if (p !== undefined) {
      const where = p.shard === null ? `tenant ${p.tenantId}` : `tenant ${p.tenantId} shard ${p.shard}`;
      fail('AUDIT_CHAIN_BROKEN', `${where}: ${p.kind}: ${p.message}`);
    }
    deps.out(
      `ok: ${report.tenants.reduce((n, t) => n + t.chains.length, 0)} chain(s) ` +
        `of ${report.tenants.length} tenant(s) intact` +
        (o.checkpoint === undefined ? '' : `, ${report.checkpointsChecked} checkpointed head(s) still in place`),
    );
  });
  local(
    audit
      .command('checkpoint')
      .description('append every chain’s head to the checkpoint file now (as the service does periodically)')
      .option('-o, --out <file>', 'the checkpoint file (default: audit.checkpoint_file)'),
  ).action(async (o: LocalStoreOptions & { out?: string }) => {
    const checkpoint = deps.checkpointAudit ?? fail('UNSUPPORTED', 'checkpoints are not available here');
    deps.out(await checkpoint(o));
  });
}
