import { runMain } from './composition/run-cli.js';

/** Entry point of the `autoglm` executable (bin/autoglm.js): everything else is built in composition/. */
export function main(argv: readonly string[]): Promise<void> {
  return runMain(argv);
}
