import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

/** The dependency rule of ARCHITECTURE.md is enforced by `npm run lint`; prove the rule bites. */
describe('dependency rule (lint)', () => {
  const eslint = new ESLint({ cwd: process.cwd() });
  const lint = async (file: string, code: string): Promise<string[]> => {
    const [result] = await eslint.lintText(code, { filePath: file });
    return (result?.messages ?? [])
      .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax')
      .map((m) => m.message);
  };

  // The first typed lint builds the whole TypeScript program (the openai SDK's types included):
  // on a busy machine that alone can outlast a test's timeout, so it is paid for here.
  beforeAll(async () => {
    await lint('src/domain/money.ts', 'export const warm = 1;\n');
  }, 180_000);

  it.each([
    // Existing files are linted with other text: typed linting needs a file the project knows.
    [
      'src/domain/money.ts',
      "import { openSqlite } from '../adapters/storage/sqlite/database.js';\nexport const x = openSqlite;\n",
      /domain may not depend on adapters/,
    ],
    [
      'src/domain/money.ts',
      "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n",
      /domain is pure/,
    ],
    ['src/domain/money.ts', 'export const now = (): number => Date.now();\n', /inject a clock/],
    [
      'src/application/orders/place-order.ts',
      "import { loadConfig } from '../../config/load-config.js';\nexport const x = loadConfig;\n",
      /application may not depend on config/,
    ],
    [
      'src/interfaces/http/plumbing/problem.ts',
      "import { SimulatedGateway } from '../../../simulator/simulated-gateway.js';\n" +
        'export const x = SimulatedGateway;\n',
      /interfaces may not depend on simulator/,
    ],
    // Capabilities reach each other only through their entry files; the kernels know none of them.
    [
      'src/application/orders/fulfil-order.ts',
      "import { openRefund } from '../refunds/settle-refund.js';\nexport const x = openRefund;\n",
      /only through their entry file: import \.\.\/refunds\/refunds-api\.js/,
    ],
    [
      'src/application/kernel/tx.ts',
      "import { createOrders } from '../orders/orders-api.js';\nexport const x = createOrders;\n",
      /kernel knows no capability/,
    ],
    [
      'src/application/jobs/job-steps.ts',
      "import { createOrders } from '../orders/orders-api.js';\nexport const x = createOrders;\n",
      /jobs kernel knows no capability/,
    ],
    // One transaction entry point: no change set or unit of work opened by hand in a use case.
    [
      'src/application/orders/cancel-order.ts',
      "import { ChangeSet } from '../kernel/change-set.js';\n" +
        "export const x = new ChangeSet({ actor: 'a', now: 0, requestId: null });\n",
      /use tx\(\)/,
    ],
    [
      'src/application/orders/cancel-order.ts',
      'export const x = (deps: { uow: { run(f: () => void): void } }): void => deps.uow.run(() => undefined);\n',
      /write through tx\(\)/,
    ],
  ])(
    '%s: a forbidden import is reported',
    async (file, code, expected) => {
      const messages = await lint(file, code);
      expect(messages.join('\n')).toMatch(expected);
    },
    180_000,
  ); // the first typed lint builds the whole program: slow on a busy machine

  it('allows what the rule allows', async () => {
    const messages = await lint(
      'src/application/orders/fulfil-order.ts',
      "import { quote } from '../../domain/menu.js';\n" +
        "import { openRefund } from '../refunds/refunds-api.js';\n" +
        'export const x = [quote, openRefund];\n',
    );
    expect(messages).toEqual([]);
  });
});
