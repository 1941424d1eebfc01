import '../tooling/vitest/node20-polyfills';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {},
});
