// @ts-check
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** Import a package by its public entry only, and another workspace by its package name. */
const PUBLIC_ENTRY_ONLY = [
  {
    group: ['@settle/*/*', '!@settle/contracts/browser', '!@settle/testkit/order-events'],
    message:
      'Import a Settle package by its public entry (@settle/<name>; @settle/contracts/browser in the browser, @settle/testkit/order-events in a bench that measures its heap) only.',
  },
  {
    group: ['**/packages/*/src/**', '**/apps/*/src/**'],
    message: 'Import another workspace by its package name, not a relative path.',
  },
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.settle/**', 'apps/web/dist/**', 'coverage/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs', 'vitest.config.ts'], ...tseslint.configs.disableTypeChecked },
  {
    // Tests and benches read pg rows and parsed JSON (typed any) and assert on them; kafkajs callbacks must be
    // async without awaiting. The promise rules (floating, misused) apply here as everywhere.
    files: ['**/test/**', 'tests/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.js', '.mjs', '.json'] })],
    },
    rules: {
      // Dependencies point down and go through a package's public entry: no deep imports, no reaching
      // into another workspace by relative path.
      'no-restricted-imports': ['error', { patterns: PUBLIC_ENTRY_ONLY }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // The bottom of the layers: the wire schemas import nothing of ours, and the domain only them.
    files: ['packages/wire/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...PUBLIC_ENTRY_ONLY,
            { group: ['@settle/*'], message: '@settle/wire is the lowest layer: it imports no Settle package.' },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/domain/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...PUBLIC_ENTRY_ONLY,
            {
              group: ['@settle/*', '!@settle/wire'],
              message: 'The domain imports only @settle/wire: dependencies point down (apps → packages → domain → wire).',
            },
          ],
        },
      ],
    },
  },
);
