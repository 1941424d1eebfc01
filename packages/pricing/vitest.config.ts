import '../../tooling/vitest/node20-polyfills';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The fast-check properties run thousands of quotes: quick on an idle machine, but CI shares
    // 2 cores with Postgres and the other suites, so the default 5 s is not a fair bound.
    testTimeout: 60_000,
  },
});
