import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
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

/** The site's pages in English (docs/ without docs/zh/ and the static files), relative to docs/. */
function englishPages(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && !(rel === '' && (e.name === 'zh' || e.name === 'public')))
    .flatMap((e) =>
      e.isDirectory() ? englishPages(dir, join(rel, e.name)) : e.name.endsWith('.md') ? [join(rel, e.name)] : [],
    );
}

/**
 * Every English page has its Chinese twin at the same path under docs/zh/, so the language switch
 * lands on the same page and the Chinese sidebar lists the same pages; a new English page needs
 * its translation.
 */
it('has every page in Chinese too', () => {
  const docs = resolve(fileURLToPath(new URL('../docs', import.meta.url)));
  const pages = englishPages(docs);
  expect(pages.length).toBeGreaterThan(30);
  expect(pages.filter((p) => !existsSync(join(docs, 'zh', p)))).toEqual([]);
});
