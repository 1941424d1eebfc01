// Scenario 7: how long `tollgate --help` takes, beside a bare `node` start, measured the same way in
// the same run (the CLI is a process per command: its start-up is what a person waits for).
// Three commands, each spawned `runs` times, interleaved so a busy moment hits all of them alike:
//   node -e 0                         the floor: Node itself
//   node packages/client/dist/cli.js  what the installed bin runs (bin/tollgate.mjs only imports it)
//   node --import tsx src/cli/main.ts the CLI from source through tsx, as the bin ran before the build
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT } from './processes';
import { type Ctx, scenario } from './scenarios';
import { median } from './stats';

const CLIENT = path.join(REPO_ROOT, 'packages/client');

function timeOnce(args: string[]): number {
  const t0 = performance.now();
  execFileSync(process.execPath, args, { cwd: CLIENT, stdio: 'ignore' });
  return performance.now() - t0;
}

export function cliStartup(ctx: Ctx) {
  const runs = ctx.cfg.mode === 'quick' ? 5 : 21;
  return scenario(
    ctx,
    'cli-startup',
    `Scenario 7: tollgate --help start-up, ${runs} runs each`,
    async (s) => {
      // The same build `pnpm build` makes (JavaScript only here: types do not change start-up).
      execFileSync(process.execPath, ['scripts/build.mjs', '--js-only'], { cwd: CLIENT, stdio: 'ignore' });
      const tsx = createRequire(path.join(CLIENT, 'package.json')).resolve('tsx');
      const commands = {
        node: ['-e', '0'],
        built: ['dist/cli.js', '--help'],
        tsx: ['--import', tsx, 'src/cli/main.ts', '--help'],
      };
      const times: Record<keyof typeof commands, number[]> = { node: [], built: [], tsx: [] };
      for (let i = 0; i < runs; i++) {
        for (const [name, args] of Object.entries(commands) as [keyof typeof commands, string[]][]) {
          times[name].push(timeOnce(args));
        }
      }
      const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
      s.figures.nodeMedianMs = round(median(times.node));
      s.figures.builtHelpMedianMs = round(median(times.built));
      s.figures.tsxHelpMedianMs = round(median(times.tsx));
      const node = median(times.node);
      const built = median(times.built);
      s.figures.builtVsNode = node && built ? Math.round((built / node) * 100) / 100 : null;
    },
    { reconcile: false },
  );
}
