import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

/**
 * The documentation site builds (`npm run docs`): VitePress fails the build on a dead link between
 * pages, a page Vue cannot compile, or a broken configuration. Built into a temporary directory.
 */
it('builds with no dead link', () => {
  const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
  const out = mkdtempSync(join(tmpdir(), 'autoglm-site-'));
  try {
    const run = spawnSync(
      process.execPath,
      [join(root, 'node_modules/vitepress/bin/vitepress.js'), 'build', 'docs', '--outDir', out],
      { cwd: root, encoding: 'utf8', timeout: 240_000 },
    );
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 250_000);
