import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runMain } from './composition/run-cli.js';

/** Entry point of the `autoglm` executable (bin/autoglm.js): everything else is built in composition/. */
export function main(argv: readonly string[]): Promise<void> {
  return runMain(argv);
}

// Started directly (`npm run dev` runs this file with tsx): run the CLI. Imported (bin/autoglm.js,
// tests): do nothing until asked.
const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url))) {
  await main(process.argv);
}
