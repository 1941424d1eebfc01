// Vitest global setup: the console's production build (what the gateway serves at /console), made
// once per test run, so the browser tests drive the real bundle and the budget test measures it.
// A child process with NODE_ENV=production: inside vitest NODE_ENV is "test", and React's
// development build would be bundled instead.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export async function setup(): Promise<void> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const vite = fileURLToPath(new URL('../node_modules/vite/bin/vite.js', import.meta.url));
  await promisify(execFile)(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production' },
  });
}
