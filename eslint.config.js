// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Node's I/O modules: the domain is pure and may not import them. */
const NODE_IO = ['node:*', 'fs', 'path', 'crypto', 'http', 'https', 'net', 'os', 'child_process'];

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
    },
  },
  {
    files: ['eslint.config.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  // The dependency rule of ARCHITECTURE.md: domain imports nothing of ours; ports import domain;
  // application imports domain and ports; interfaces import application (and domain/ports types);
  // adapters implement ports; only src/main.ts (the composition root) and tests wire adapters in.
  ...layer('domain', ['ports', 'application', 'adapters', 'interfaces', 'simulator', 'config'], NODE_IO),
  ...layer('ports', ['application', 'adapters', 'interfaces', 'simulator', 'config']),
  ...layer('application', ['adapters', 'interfaces', 'simulator', 'config']),
  ...layer('adapters', ['application', 'interfaces', 'simulator', 'config']),
  ...layer('simulator', ['application', 'adapters', 'interfaces', 'config']),
  ...layer('config', ['ports', 'application', 'adapters', 'interfaces', 'simulator']),
  ...layer('interfaces', ['adapters', 'simulator', 'config']),
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
