import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';

/** What the console's browser tests share: axe-core run inside the page, and CSP refusals seen. */
let axeSource: string | undefined;

/** axe-core on the page as it stands: no serious or critical violation, named with the screen. */
export async function axeCheck(page: Page, screen: string): Promise<void> {
  axeSource ??= readFileSync(join('node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (o: unknown) => Promise<{ violations: unknown[] }> } }).axe;
    const r = await axe.run({ resultTypes: ['violations'] });
    return r.violations as { id: string; impact: string; help: string; nodes: { target: string[] }[] }[];
  });
  const bad = found
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${screen}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

/** A new page whose Content-Security-Policy refusals are added to `violations`. */
export async function watchedPage(context: BrowserContext, violations: string[], timeoutMs?: number): Promise<Page> {
  const page = await context.newPage();
  if (timeoutMs !== undefined) page.setDefaultTimeout(timeoutMs);
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  return page;
}
