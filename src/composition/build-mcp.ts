import { readFileSync } from 'node:fs';
import type { ActionRegistry } from '../application/agent/agent-api.js';
import type { AppConfig } from '../config/load-config.js';
import type { McpRoutesOptions } from '../interfaces/http/mcp-routes.js';
import type { McpServices, McpSettings } from '../interfaces/mcp/mcp-server.js';
import type { Logger } from '../ports/logger.js';

/** This package's version (the CLI's `--version`, the MCP server's `serverInfo`). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** `mcp` from the configuration, in the units the MCP server takes. */
export function mcpSettings(config: Pick<AppConfig, 'mcp'>): McpSettings {
  return {
    confirmViaElicitation: config.mcp.confirm_via_elicitation,
    elicitationTimeoutMs: config.mcp.elicitation_timeout_seconds * 1000,
    followMs: config.mcp.follow_seconds * 1000,
  };
}

/** What the MCP tools call: the app's capabilities and its action registry. */
export function mcpServices(services: Omit<McpServices, 'registry'>, registry: ActionRegistry): McpServices {
  return { ...services, registry };
}

/** The options of `/mcp` on the HTTP server. */
export function mcpOptions(
  config: Pick<AppConfig, 'mcp'>,
  services: Omit<McpServices, 'registry'>,
  registry: ActionRegistry,
  logger: Logger,
): McpRoutesOptions {
  return {
    services: mcpServices(services, registry),
    settings: mcpSettings(config),
    sessionIdleMs: config.mcp.session_idle_seconds * 1000,
    version: packageVersion(),
    logger,
  };
}
