import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh SQLite file in its own temp directory. */
export function tempDbPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'autoglm-test-')), 'test.db');
}
