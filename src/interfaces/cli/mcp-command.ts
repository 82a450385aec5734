import type { Command } from 'commander';

/** How `autoglm mcp` runs, given by the composition root. */
export interface McpCliDeps {
  /** AUTOGLM_API_KEY, as the composition root read it (never the admin key file: MCP acts as an agent). */
  readonly mcpApiKey?: string | undefined;
  /**
   * Serve MCP over stdio: in this process on the configured (embedded) database, or — with
   * `url` — relayed to that service's `/mcp`. Resolves when the client disconnects.
   */
  readonly mcp?: (options: {
    readonly apiKey: string;
    readonly url?: string;
    readonly config?: string;
    readonly db?: string;
  }) => Promise<void>;
}

/** `autoglm mcp`: the MCP server over stdio, for desktop assistants and IDE agents. */
export function registerMcpCommand(
  program: Command,
  deps: McpCliDeps,
  fail: (code: string, message: string) => never,
): void {
  program
    .command('mcp')
    .description(
      'serve the Model Context Protocol over stdio, acting as an agent key (--api-key or AUTOGLM_API_KEY); ' +
        'on the local database in this process, or with --url through a running service',
    )
    .option('--api-key <key>', "the agent's API key (default: AUTOGLM_API_KEY)")
    .option('--url <url>', "relay to this service's /mcp instead of running in this process")
    .option('-c, --config <file>', 'configuration file (JSON or YAML), in-process only')
    .option('--db <url>', 'database: sqlite:<path> or postgres://…, in-process only')
    .action(async (o: { apiKey?: string; url?: string; config?: string; db?: string }) => {
      if (deps.mcp === undefined) fail('MCP_UNAVAILABLE', 'this build cannot serve MCP');
      const apiKey = o.apiKey ?? deps.mcpApiKey;
      if (apiKey === undefined || apiKey === '') {
        fail('API_KEY_REQUIRED', 'give the agent key to act as: --api-key agk_… or AUTOGLM_API_KEY');
      }
      if (o.url !== undefined && !/^https?:\/\//.test(o.url)) fail('VALIDATION_FAILED', '--url must be http(s)://…');
      await deps.mcp({
        apiKey,
        ...(o.url === undefined ? {} : { url: o.url }),
        ...(o.config === undefined ? {} : { config: o.config }),
        ...(o.db === undefined ? {} : { db: o.db }),
      });
    });
}
