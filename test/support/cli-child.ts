// The `autoglm` executable from the TypeScript sources, for tests that run the CLI as a real process.
import { main } from '../../src/main.js';

await main(['node', 'autoglm', ...process.argv.slice(2)]);
