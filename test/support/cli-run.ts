import { type CliDeps, runCli } from '../../src/interfaces/cli/cli.js';

/** Run the CLI in this process against `defaultUrl`, capturing what it prints and its exit code. */
export async function runCliCaptured(
  args: readonly string[],
  deps: Partial<CliDeps> & { readonly defaultUrl: string },
): Promise<{ out: string[]; err: string[]; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  process.exitCode = 0;
  await runCli(['node', 'autoglm', ...args], {
    serve: () => Promise.reject(new Error('not in this test')),
    simulator: () => Promise.reject(new Error('not in this test')),
    version: '0.0.0-test',
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    ...deps,
  });
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}
