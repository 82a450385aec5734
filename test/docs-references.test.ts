import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateReferences } from '../scripts/docs/references.js';

/**
 * The references under docs/reference/ are generated from the code (configuration schema, error
 * codes, CLI definitions, OpenAPI document): a committed page that differs from what the code makes
 * now is stale, and fails here.
 */
describe('the generated references', () => {
  it('match what the code generates (run npm run docs:gen)', async () => {
    const stale: string[] = [];
    for (const [path, text] of await generateReferences()) {
      const committed = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
      if (committed !== text) stale.push(path);
    }
    expect(stale, `stale or missing: ${stale.join(', ')}: run npm run docs:gen`).toEqual([]);
  }, 60_000);
});
