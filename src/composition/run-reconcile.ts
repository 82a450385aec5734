import type { ReconcileRequest } from '../interfaces/cli/reconcile-commands.js';
import { loadConfig } from '../config/load-config.js';
import { CliError } from '../interfaces/cli/cli.js';
import { problemResult } from '../interfaces/http/plumbing/http-result.js';
import { createApp } from './create-app.js';

/**
 * `autoglm reconcile --db URL`: the reconciliation use case on that database, in this process
 * (no server, no worker: repairs are only proposed), recorded as the operator at this terminal.
 */
export async function runReconcileLocal(
  o: { readonly db: string; readonly config?: string },
  request: ReconcileRequest,
): Promise<{ status: number; body: unknown }> {
  const loaded = loadConfig({
    ...(o.config === undefined ? {} : { file: o.config }),
    env: process.env,
    overrides: { log: { level: 'warn' }, database: { url: o.db }, worker: { enabled: false } },
  });
  if (!loaded.ok) throw new CliError(loaded.error.code, `${loaded.error.message}: ${loaded.error.issues.join('; ')}`);
  const app = await createApp(loaded.value, { logDestination: process.stderr });
  try {
    const r = await app.services.reconciliation.run(
      {
        tenantId: loaded.value.tenant.default_id,
        userId: 'cli',
        actor: `cli:${process.env.USER ?? 'operator'}`,
        requestId: null,
        role: 'admin',
      },
      request,
    );
    if (r.ok) return { status: 201, body: { reconciliation: r.value } };
    const p = problemResult({ id: 'cli' } as Parameters<typeof problemResult>[0], r.error);
    return { status: p.status, body: p.body };
  } finally {
    await app.close();
  }
}
