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

/**
 * An init script making every EventSource the page opens a stand-in over a real one, which the
 * test can break and restore: `__feeds.drop()` closes the real streams (the page sees an error,
 * as on a lost network) and `__feeds.restore()` opens them afresh (the page sees them open again,
 * as on the browser's reconnect). Plain JavaScript: it runs in the page as written.
 */
export const BREAKABLE_EVENT_SOURCE = `(() => {
  const Native = window.EventSource;
  const feeds = new Set();
  class Breakable extends EventTarget {
    constructor(url) {
      super();
      this.url = url;
      this.onopen = null;
      this.onerror = null;
      this.types = new Set();
      feeds.add(this);
      this.connect();
    }
    connect() {
      const inner = new Native(this.url);
      this.inner = inner;
      inner.onopen = (e) => this.onopen && this.onopen(e);
      inner.onerror = (e) => this.onerror && this.onerror(e);
      for (const t of this.types) this.forward(t);
    }
    forward(type) {
      this.inner.addEventListener(type, (e) => this.dispatchEvent(new MessageEvent(type, { data: e.data })));
    }
    addEventListener(type, listener) {
      if (!this.types.has(type)) {
        this.types.add(type);
        this.forward(type);
      }
      super.addEventListener(type, listener);
    }
    close() {
      feeds.delete(this);
      this.inner.close();
    }
  }
  window.EventSource = Breakable;
  window.__feeds = {
    drop: () => feeds.forEach((f) => { f.inner.close(); if (f.onerror) f.onerror(new Event('error')); }),
    restore: () => feeds.forEach((f) => f.connect()),
  };
})();`;
