// ESLint for the whole repository (flat config), with type information. One TypeScript program for every file
// (tsconfig.eslint.json) rather than one per package: the packages import each other's sources, and checking
// the shared files once is about four times faster. `npm run lint` runs it through turbo (cached).
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

/** Node's modules by their bare names (`fs`, `fs/promises`); `node:` names are refused by a pattern. */
const nodeBuiltins = builtinModules.filter((name) => !name.startsWith('node:'));

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'apps/web/build/**',
      'apps/web/public/build/**',
      '.tools/**',
      '.data/**',
      '**/.turbo/**',
      // Generated: Prisma's client, and the API's OpenAPI document as TypeScript (npm run generate:openapi).
      'prisma/src/generated/**',
      'packages/contracts/src/openapi-types.ts',
    ],
  },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { project: ['./tsconfig.eslint.json'], tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // A promise nobody awaits loses its rejection (an unhandled rejection ends the process) and its ordering.
      // Fire-and-forget is written `void promise`, with a comment saying why.
      '@typescript-eslint/no-floating-promises': 'error',
      // An async function where a callback's result is ignored (event handlers, forEach, setTimeout)…
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, and activities only as types
    // (they run on workers, reached through proxyActivities). The bundler would fail later and less clearly.
    files: ['workflows/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code runs in the Temporal sandbox: no Node built-ins.' })),
          patterns: [
            { regex: '^node:', message: 'Workflow code runs in the Temporal sandbox: no Node built-ins.' },
            {
              regex: '^@opsconductor/activities(/|$)',
              allowTypeImports: true,
              message: 'Workflows import activities as types only (`import type`), and call them through proxyActivities.',
            },
          ],
        },
      ],
    },
  },
);
