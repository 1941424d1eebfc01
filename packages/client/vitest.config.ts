import '../../tooling/vitest/node20-polyfills.ts';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One Postgres per run (embedded unless DATABASE_URL is set) for the end-to-end tests, which boot
    // a real gateway + Pixelbyte simulator through packages/api's test harness.
    globalSetup: ['@tollgate/db/testing/global-setup'],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    typecheck: { enabled: false },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2 shared cores: a few files at a time.
    maxWorkers: 2,
  },
});
