// `autoglm simulator` from the TypeScript sources, for tests that run it as a real process.
import { main } from '../../src/main.js';

await main(['node', 'autoglm', 'simulator', ...process.argv.slice(2)]);
