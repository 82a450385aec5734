import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The embedded simulators' secrets, made for this installation rather than written in the source
 * (where anyone could sign a "paid" callback to a public callback route with them): one random
 * secret, made on first start into `<dir>/embedded.secret` (mode 0600) and kept across restarts,
 * from which each simulator's own secret is derived by name.
 */
export function embeddedSimulatorSecrets(dir: string): (label: string) => string {
  const path = join(dir, 'embedded.secret');
  let secret: string;
  if (existsSync(path)) {
    secret = readFileSync(path, 'utf8').trim();
  } else {
    mkdirSync(dir, { recursive: true });
    secret = randomBytes(32).toString('base64url');
    // `wx`: of two processes starting at once on one directory, the second reads the first's.
    try {
      writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    } catch {
      secret = readFileSync(path, 'utf8').trim();
    }
  }
  chmodSync(path, 0o600);
  if (secret.length < 32) throw new Error(`${path} holds no usable secret: delete it to make a new one`);
  return (label) => createHmac('sha256', secret).update(`open-autoglm simulator ${label}`).digest('base64url');
}
