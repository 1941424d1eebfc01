// Vitest global setup: the console's production build (what the gateway serves at /console), made
// once per test run, so the browser tests drive the real bundle and the budget test measures it.
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export async function setup(): Promise<void> {
  await build({ root: fileURLToPath(new URL('..', import.meta.url)), logLevel: 'warn' });
}
