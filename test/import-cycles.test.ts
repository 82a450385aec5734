import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every .ts file under `dir` (tests excluded: they are leaves). */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** The relative modules a file imports at run time or for types (both tie the files together). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/g)) {
    found.push(resolve(dirname(file), (m[1] ?? '').replace(/\.js$/, '.ts')));
  }
  return found;
}

/**
 * No import cycles in src/: a cycle is how capabilities grew into each other before (request-recharge
 * ↔ request-recharge-batch ↔ execute-recharge), and how load order starts to matter.
 */
describe('import graph', () => {
  it('has no cycles', () => {
    const root = resolve('src');
    const files = sources(root);
    const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => t.startsWith(root))]));
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(root, p)).join(' → '));
        return;
      }
      state.set(f, 'visiting');
      for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
