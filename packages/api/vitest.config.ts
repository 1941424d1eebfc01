import '../../tooling/vitest/node20-polyfills';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One Postgres per run (embedded unless DATABASE_URL is set); each test file makes its own database.
    globalSetup: ['@tollgate/db/testing/global-setup'],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2 shared cores: a few files at a time.
    maxWorkers: 2,
  },
});
