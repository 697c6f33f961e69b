// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Workflow code is replayed inside Temporal's deterministic sandbox: it may not reach the
// outside world, so the I/O modules, the non-workflow Temporal packages and the activity
// implementations are banned there (types stay importable).
const workflowSandboxBans = {
  paths: [
    ...builtinModules.map((name) => ({ name, message: 'Node built-ins are not allowed in workflow code.' })),
    ...['activity', 'client', 'worker', 'testing'].map((pkg) => ({
      name: `@temporalio/${pkg}`,
      message: 'Workflow code may only import @temporalio/workflow and @temporalio/common.',
    })),
    ...['pg', 'kysely', 'pino', 'hono', '@hono/zod-openapi'].map((name) => ({
      name,
      message: 'I/O belongs in activities, not in workflow code.',
    })),
  ],
  patterns: [
    { group: ['node:*'], message: 'Node built-ins are not allowed in workflow code.' },
    {
      group: ['**/activities/*', '**/activities', '**/db/*', '**/api/*', '**/security/*'],
      allowTypeImports: true,
      message: 'Workflows call activities through proxyActivities; import their types only.',
    },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', '.tools/**', '.scratch/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    ignores: ['workflows/**/*.test.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', workflowSandboxBans] },
  },
  {
    // Tests read untyped JSON answers.
    files: ['test/**/*.ts', '**/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
