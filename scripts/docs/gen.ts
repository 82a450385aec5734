/** `npm run docs:gen`: write the generated references (scripts/docs/references.ts) under docs/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateReferences } from './references.js';

for (const [path, text] of await generateReferences()) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  process.stdout.write(`wrote ${path}\n`);
}
