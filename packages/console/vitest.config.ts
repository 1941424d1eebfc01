import '../../tooling/vitest/node20-polyfills.ts';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [react()],
  test: {
    // One Postgres per run (embedded unless DATABASE_URL is set): component and browser tests talk to a
    // real gateway; then one production build of the console (the browser tests and the budget test read it).
    globalSetup: ['@tollgate/db/testing/global-setup', './test/build-once.ts'],
    include: ['src/**/*.test.{ts,tsx}', 'test/**/*.test.{ts,tsx}', 'e2e/**/*.test.ts'],
    typecheck: { enabled: false },
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // 2 shared cores, and a browser is heavy: one file at a time.
    maxWorkers: 1,
  },
});
