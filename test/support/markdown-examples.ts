import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One fenced shell block of a Markdown page. */
export interface ShellExample {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly code: string;
  /** `<!-- skip-example -->` on the line before the fence (after blank lines). */
  readonly skipped: boolean;
}

const SHELLS = new Set(['sh', 'bash', 'shell']);
export const SKIP_MARK = '<!-- skip-example -->';

/** The fenced `sh` / `bash` / `shell` blocks of a page, in order. */
export function shellExamples(file: string, text: string): ShellExample[] {
  const lines = text.split('\n');
  const out: ShellExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]!);
    if (open === null) continue;
    const fence = open[2]!;
    const lang = open[3]!.toLowerCase();
    let end = i + 1;
    while (end < lines.length && !lines[end]!.trimStart().startsWith(fence)) end++;
    if (SHELLS.has(lang)) {
      let prev = i - 1;
      while (prev >= 0 && lines[prev]!.trim() === '') prev--;
      out.push({
        file,
        line: i + 1,
        code: lines.slice(i + 1, end).join('\n'),
        skipped: prev >= 0 && lines[prev]!.trim() === SKIP_MARK,
      });
    }
    i = end;
  }
  return out;
}

/** README*.md at the root and every page under docs/ (not the site's build output). */
export function documentationFiles(root: string): string[] {
  const files = readdirSync(root)
    .filter((f) => /^README.*\.md$/.test(f))
    .sort();
  const walk = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true })
      .filter((e) => !e.name.startsWith('.') && e.name !== 'node_modules' && e.name !== 'public')
      .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : []))
      .sort();
  return [...files, ...walk('docs')];
}

export function examplesOf(root: string, file: string): ShellExample[] {
  return shellExamples(file, readFileSync(join(root, file), 'utf8'));
}
