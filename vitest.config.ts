import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'packages/**/*.test.ts',
      'prisma/**/*.test.ts',
      'workflows/**/*.test.ts',
      'activities/**/*.test.ts',
      'workers/**/*.test.ts',
      'apps/**/*.test.ts',
      'agent/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', 'apps/web/build/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Two cores: servers under test (Postgres, Temporal, API, worker, agents) need CPU too.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
