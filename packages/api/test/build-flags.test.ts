import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_DIR, NODE_FLAGS } from '../scripts/build.ts';

// `pnpm start` runs the bundle with the flags the bench and the reliability suite use (NODE_FLAGS),
// so what is measured is what is deployed.
describe('production node flags', () => {
  it('the start script runs the bundle with NODE_FLAGS', () => {
    const pkg = JSON.parse(readFileSync(join(API_DIR, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.start).toContain(`node ${NODE_FLAGS.join(' ')} dist/serve.mjs`);
  });
});
