// @ts-check
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

/** Node's I/O modules: the domain is pure and may not import them. */
const NODE_IO = ['node:*', 'fs', 'path', 'crypto', 'http', 'https', 'net', 'os', 'child_process'];

/** What no file under src/application may import. */
const OUTSIDE_APPLICATION = ['adapters', 'interfaces', 'simulator', 'config', 'composition'].map((f) => ({
  group: [`**/${f}/**`],
  message: `application may not depend on ${f} (ARCHITECTURE.md dependency rule)`,
}));

/** The capability folders of src/application (each with one public entry file, <name>-api.ts). */
const CAPABILITIES = [
  'identity',
  'confirmations',
  'orders',
  'payments',
  'refunds',
  'wallet',
  'recharge',
  'batch',
  'rules',
  'agent',
  'ledger',
  'maintenance',
  'abuse',
  'data-keys',
  'audit',
];

/**
 * One layer of the dependency rule: files under src/<name> may not import the listed folders
 * (nor main.ts, the composition root). Plain `no-restricted-imports`, so no resolver is needed.
 */
const layer = (name, forbidden, extra = []) => [
  {
    files: [`src/${name}/**/*.ts`],
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...forbidden.map((f) => ({
              group: [`**/${f}/**`],
              message: `${name} may not depend on ${f} (ARCHITECTURE.md dependency rule)`,
            })),
            { group: ['**/main.js'], message: 'only the composition root knows main.ts' },
            ...(extra.length > 0 ? [{ group: extra, message: `${name} is pure: no I/O modules` }] : []),
          ],
        },
      ],
    },
  },
];

export default tseslint.config(
  { ignores: ['.scratch/**', 'dist/**', 'node_modules/**', 'data/**', 'coverage/**', 'bin/**', 'bench/**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Prettier wraps code at 120; this holds the strings, template literals and comments it leaves alone.
      'max-len': ['error', { code: 120, ignoreUrls: false }],
    },
  },
  {
    files: ['eslint.config.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  // The web console (web/src, its own tsconfig for the DOM): React's rules of hooks on top.
  {
    files: ['web/src/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat['recommended-latest']],
  },
  // The dependency rule of ARCHITECTURE.md: domain imports nothing of ours; ports import domain;
  // application imports domain and ports; interfaces import application (and domain/ports types);
  // adapters implement ports; only src/composition/ (and tests) wire adapters in.
  ...layer('domain', ['ports', 'application', 'adapters', 'interfaces', 'simulator', 'config', 'composition'], NODE_IO),
  ...layer('ports', ['application', 'adapters', 'interfaces', 'simulator', 'config', 'composition']),
  ...layer('application', ['adapters', 'interfaces', 'simulator', 'config', 'composition']),
  // Inside application/: the kernel and the jobs kernel know no capability; a capability reaches
  // another only through its public entry file (<capability>-api.ts).
  ...CAPABILITIES.map((cap) => ({
    files: [`src/application/${cap}/**/*.ts`],
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...OUTSIDE_APPLICATION,
            { group: ['**/main.js'], message: 'only the composition root knows main.ts' },
            ...CAPABILITIES.filter((other) => other !== cap).map((other) => ({
              group: [`../${other}/*`, `!../${other}/${other}-api.js`],
              message:
                `capabilities talk to each other only through their entry file: ` +
                `import ../${other}/${other}-api.js`,
            })),
          ],
        },
      ],
    },
  })),
  ...['kernel', 'jobs'].map((core) => ({
    files: [`src/application/${core}/**/*.ts`],
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...OUTSIDE_APPLICATION,
            ...CAPABILITIES.map((c) => ({
              group: [`../${c}/*`],
              message: `the ${core} kernel knows no capability (${c})`,
            })),
            ...(core === 'kernel'
              ? [{ group: ['../jobs/*'], message: 'the kernel does not know the jobs kernel' }]
              : []),
          ],
        },
      ],
    },
  })),
  // One transaction entry point: use cases write through tx(), which makes a change set per
  // attempt and writes it on the way out; they never open a unit of work or a change set themselves.
  {
    files: ['src/application/**/*.ts'],
    ignores: ['src/application/kernel/**', 'src/application/jobs/**', 'src/**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='ChangeSet']",
          message: 'use tx(): it makes the change set for each attempt',
        },
        {
          selector: "CallExpression[callee.property.name='run'][callee.object.property.name='uow']",
          message: 'write through tx() (kernel/tx.ts), the one transaction entry point',
        },
      ],
    },
  },
  ...layer('adapters', ['application', 'interfaces', 'simulator', 'config', 'composition']),
  ...layer('simulator', ['application', 'adapters', 'interfaces', 'config', 'composition']),
  ...layer('config', ['ports', 'application', 'adapters', 'interfaces', 'simulator', 'composition']),
  ...layer('interfaces', ['adapters', 'simulator', 'config', 'composition']),
  // Domain stays pure: no clocks, no randomness, no environment, no Node I/O.
  {
    files: ['src/domain/**/*.ts'],
    ignores: ['src/domain/**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
          message: 'domain is pure: inject a clock',
        },
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'domain is pure: inject a clock',
        },
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: 'domain is pure: inject randomness',
        },
        { selector: "MemberExpression[object.name='process']", message: 'domain is pure: no process access' },
      ],
    },
  },
);
