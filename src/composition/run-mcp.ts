import { randomUUID } from 'node:crypto';
import { callerOf } from '../application/identity/identity-api.js';
import { loadConfig } from '../config/load-config.js';
import { CliError } from '../interfaces/cli/cli.js';
import { sourceOfCredential } from '../interfaces/http/plumbing/sources.js';
import { createMcpServer } from '../interfaces/mcp/mcp-server.js';
import { relayStdioToHttp, serveStdio } from '../interfaces/mcp/mcp-stdio.js';
import { mcpServices, mcpSettings, packageVersion } from './build-mcp.js';
import { createApp } from './create-app.js';

/**
 * `autoglm mcp`: MCP over stdio. With `url`, a relay to that service's `/mcp`; otherwise the
 * service in this process on its configured database (worker included, logs on stderr: stdout
 * is the protocol's), acting as the key's principal exactly as an HTTP request with it would.
 */
export async function runMcp(o: {
  readonly apiKey: string;
  readonly url?: string;
  readonly config?: string;
  readonly db?: string;
}): Promise<void> {
  const warn = (line: string): void => void process.stderr.write(`autoglm mcp: ${line}\n`);
  if (o.url !== undefined) {
    await relayStdioToHttp(new URL('/mcp', o.url), o.apiKey, warn);
    return;
  }
  const loaded = loadConfig({
    ...(o.config === undefined ? {} : { file: o.config }),
    env: process.env,
    overrides: { log: { level: 'warn' }, ...(o.db === undefined ? {} : { database: { url: o.db } }) },
  });
  if (!loaded.ok) throw new CliError(loaded.error.code, `${loaded.error.message}: ${loaded.error.issues.join('; ')}`);
  const app = await createApp(loaded.value, { logDestination: process.stderr });
  try {
    const principal = await app.services.identity.authenticate(o.apiKey);
    if (!principal.ok) throw new CliError('UNAUTHENTICATED', principal.error.message);
    const caller = callerOf(principal.value, null);
    if (!caller.ok) throw new CliError(caller.error.code, caller.error.message);
    app.start();
    const server = createMcpServer(
      mcpServices(app.services, app.registry),
      mcpSettings(loaded.value),
      { caller: { ...caller.value, source: sourceOfCredential(o.apiKey) }, connectionId: `stdio-${randomUUID()}` },
      { version: packageVersion(), logger: app.logger },
    );
    await serveStdio(server);
  } finally {
    await app.close();
  }
}
