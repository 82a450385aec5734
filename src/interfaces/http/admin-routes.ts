import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ConfigReloader } from '../../ports/config-reload.js';
import { problemResult, send } from './plumbing/http-result.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';

const reloadReport = z.object({
  changed: z.array(z.string()).describe('reloadable sections whose values changed and now apply'),
  restart_required: z.array(z.string()).describe('top-level keys that changed but apply only after a restart'),
});

const RELOAD_DOC: RouteDoc = {
  summary: 'Reload policy, menu and repair rules',
  description:
    'Reads the configuration again from the sources the process started with (file, environment), validates ' +
    'all of it, then replaces the policy, the menu and the custom repair rules, audited as `config.reloaded`. ' +
    'A configuration that does not validate is refused and the running one stays. Storage, ports and secrets ' +
    'need a restart: they are listed in `restart_required`. `kill -HUP` does the same.',
  tags: ['operations'],
  bodyOptional: true,
  responses: { 200: { description: 'what changed', body: reloadReport } },
  errors: ['CONFIG_INVALID', 'RELOAD_UNAVAILABLE'],
};

/** POST /api/v1/admin/reload: the admin's reload of the reloadable configuration. */
export function registerAdminRoutes(app: FastifyInstance, services: { readonly reloader: ConfigReloader }): void {
  app.post(
    '/api/v1/admin/reload',
    { config: { permission: 'config.reload' as const, openapi: RELOAD_DOC } },
    async (req, reply) => {
      const r = await services.reloader.reload({
        actor: req.caller.actor,
        tenantId: req.caller.tenantId,
        requestId: req.id,
      });
      if (!r.ok) return send(reply, problemResult(req, r.error));
      return { changed: r.value.changed, restart_required: r.value.restartRequired };
    },
  );
}
