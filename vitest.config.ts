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
    // Three test files at a time on two cores: most of an end-to-end file's time is spent waiting (for agents,
    // schedules, timeouts), and the servers under test (Postgres, Temporal, API, worker, agents) use the rest.
    maxWorkers: 3,
    minWorkers: 1,
  },
});
