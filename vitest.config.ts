import { defineConfig } from 'vitest/config';

// One embedded PostgreSQL for the whole run (test/global-setup.ts); every test makes its own
// database on it, or its own SQLite file. WORKBOOK_TEST_DB=sqlite (or postgres) runs one side only.
export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
