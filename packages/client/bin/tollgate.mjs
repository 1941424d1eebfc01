#!/usr/bin/env node
// The `tollgate` bin: runs the built CLI (dist/cli.js), plain JavaScript, no TypeScript loader.
// Inside a checkout of the repository (src/ is beside dist/; an installed package has no src/), it
// first rebuilds dist/cli.js when a source is newer, so `pnpm tollgate` never runs stale code.
import { existsSync } from 'node:fs';

if (existsSync(new URL('../src/cli/main.ts', import.meta.url))) {
  const { ensureCliBuilt } = await import('../scripts/build.mjs');
  await ensureCliBuilt();
}
await import('../dist/cli.js');
