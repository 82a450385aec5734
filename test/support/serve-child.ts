// `autoglm serve` from the TypeScript sources, for tests that run the service as a real process.
import { main } from '../../src/main.js';

await main(['node', 'autoglm', 'serve', ...process.argv.slice(2)]);
