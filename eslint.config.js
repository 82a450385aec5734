// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import boundaries from 'eslint-plugin-boundaries';

/** One dependency-rule policy: files of type `from` may import only the listed types. */
const allow = (from, to) => ({
  from: { element: { type: from } },
  allow: to.map((type) => ({ to: { element: { type } } })),
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**', 'bin/**', 'bench/**/*.js'] },
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
  // adapters implement ports; only src/main.ts (the composition root, left unclassified so it may
  // import everything) and tests wire adapters in.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    plugins: { boundaries },
    settings: {
      'import/resolver': { typescript: true, node: { extensions: ['.ts', '.js'] } },
      'boundaries/include': ['src/**/*'],
      'boundaries/elements': [
        { type: 'domain', pattern: 'src/domain' },
        { type: 'ports', pattern: 'src/ports' },
        { type: 'application', pattern: 'src/application' },
        { type: 'adapters', pattern: 'src/adapters' },
        { type: 'interfaces', pattern: 'src/interfaces' },
        { type: 'simulator', pattern: 'src/simulator' },
        { type: 'config', pattern: 'src/config' },
      ],
    },
    rules: {
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          policies: [
            allow('domain', ['domain']),
            allow('ports', ['domain', 'ports']),
            allow('application', ['domain', 'ports', 'application']),
            allow('adapters', ['domain', 'ports', 'adapters']),
            allow('simulator', ['domain', 'ports', 'simulator']),
            allow('config', ['domain', 'config']),
            allow('interfaces', ['domain', 'ports', 'application', 'interfaces']),
          ],
        },
      ],
    },
  },
  // Domain stays pure: no clocks, no randomness, no environment, no Node I/O.
  {
    files: ['src/domain/**/*.ts'],
    ignores: ['src/domain/**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'domain is pure: inject a clock' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'domain is pure: inject a clock' },
        { selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']", message: 'domain is pure: inject randomness' },
        { selector: "MemberExpression[object.name='process']", message: 'domain is pure: no process access' },
      ],
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'path', 'crypto', 'http'] }],
    },
  },
);
