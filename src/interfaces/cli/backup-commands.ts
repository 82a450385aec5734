import type { Command } from 'commander';

/** What a backup wrote. */
export interface BackupReport {
  /** The backup file (a SQLite database). */
  readonly file: string;
  readonly bytes: number;
  /** Migrations the backed-up schema has. */
  readonly migrations: number;
  /**
   * Where a copy of the master key was written, when the database's key is the generated
   * `master.key` beside it (a key given by AUTOGLM_MASTER_KEY or a key file stays with its owner).
   */
  readonly masterKeyFile?: string;
}

/** What a restore put in place, read back from the restored database. */
export interface RestoreReport {
  readonly file: string;
  readonly migrations: number;
  readonly orders: number;
  /** Journals that do not balance (0 for a good backup). */
  readonly unbalancedJournals: number;
  /** Jobs left to run: the work the service resumes when it starts on the restored database. */
  readonly pendingJobs: number;
  /** Where the backup's master key was placed, when it was. */
  readonly masterKeyFile?: string;
}

/** How `autoglm backup` and `autoglm restore` run, given by the composition root. */
export interface BackupCliDeps {
  readonly backup?: (options: {
    readonly db?: string;
    readonly out: string;
    readonly config?: string;
  }) => Promise<BackupReport>;
  readonly restore?: (options: {
    readonly from: string;
    readonly db?: string;
    readonly force: boolean;
    readonly config?: string;
  }) => Promise<RestoreReport>;
}

/** `autoglm backup` / `autoglm restore`: the embedded SQLite database, online, in this process. */
export function registerBackupCommands(
  program: Command,
  deps: BackupCliDeps & { readonly out: (line: string) => void },
  fail: (code: string, message: string) => never,
): void {
  program
    .command('backup')
    .description(
      'copy the SQLite database to FILE while the service runs (a consistent snapshot); ' +
        'PostgreSQL: use pg_dump (README "Back up and restore")',
    )
    .requiredOption('--out <file>', 'the backup file to write (refused if it exists)')
    .option('--db <url>', 'database: sqlite:<path> (default: the configured one)')
    .option('-c, --config <file>', 'configuration file (JSON or YAML)')
    .option('--json', 'print the report as JSON')
    .action(async (o: { out: string; db?: string; config?: string; json?: boolean }) => {
      if (deps.backup === undefined) fail('BACKUP_UNAVAILABLE', 'this build cannot back up');
      const r = await deps.backup({
        out: o.out,
        ...(o.db === undefined ? {} : { db: o.db }),
        ...(o.config === undefined ? {} : { config: o.config }),
      });
      if (o.json === true) return deps.out(JSON.stringify(r));
      deps.out(`backed up ${r.bytes} bytes (${r.migrations} migrations) to ${r.file}`);
      if (r.masterKeyFile !== undefined)
        deps.out(
          `the master key was copied to ${r.masterKeyFile} (mode 0600): the backup's phone numbers and ` +
            'conversations are unreadable without it, and readable by whoever has both: store it apart',
        );
    });

  program
    .command('restore')
    .description(
      'put a backup made by `autoglm backup` in place as the SQLite database (stop the service first); ' +
        'refuses a database that has data unless --force',
    )
    .requiredOption('--from <file>', 'the backup file')
    .option('--db <url>', 'database: sqlite:<path> (default: the configured one)')
    .option('--force', 'replace a database that already has data')
    .option('-c, --config <file>', 'configuration file (JSON or YAML)')
    .option('--json', 'print the report as JSON')
    .action(async (o: { from: string; db?: string; force?: boolean; config?: string; json?: boolean }) => {
      if (deps.restore === undefined) fail('RESTORE_UNAVAILABLE', 'this build cannot restore');
      const r = await deps.restore({
        from: o.from,
        force: o.force === true,
        ...(o.db === undefined ? {} : { db: o.db }),
        ...(o.config === undefined ? {} : { config: o.config }),
      });
      if (o.json === true) return deps.out(JSON.stringify(r));
      deps.out(
        `restored ${r.file}: ${r.migrations} migrations, ${r.orders} orders, ${r.pendingJobs} jobs to resume, ` +
          `${r.unbalancedJournals} unbalanced journals`,
      );
      if (r.masterKeyFile !== undefined) deps.out(`the backup's master key was placed at ${r.masterKeyFile}`);
    });
}
