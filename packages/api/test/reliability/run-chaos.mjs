// `pnpm test:chaos [--soak] [--seed N] [file filter…]`: the bigger variants of the reliability suite
// (CHAOS_SCALE=full: 10,000 chaos jobs, more fuzz runs, 1,000 jobs across two instances), and with
// --soak the 10-minute soak (CHAOS_SOAK_MINUTES to change it). Prints the seed so a failure replays.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const env = { ...process.env, CHAOS_SCALE: 'full' };
const filters = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--soak') env.CHAOS_SOAK = '1';
  else if (a === '--seed') env.CHAOS_SEED = args[++i] ?? '';
  else filters.push(a);
}
env.CHAOS_SEED ||= String(Math.floor(Math.random() * 2 ** 31));
const apiDir = fileURLToPath(new URL('../../', import.meta.url));
const targets =
  filters.length > 0 ? filters : env.CHAOS_SOAK === '1' ? ['test/reliability/soak'] : ['test/reliability'];
console.log(
  `tollgate chaos: CHAOS_SEED=${env.CHAOS_SEED}${env.CHAOS_SOAK ? ' (soak)' : ''} → ${targets.join(' ')}`,
);
const r = spawnSync('npx', ['vitest', 'run', '--testTimeout=7200000', '--hookTimeout=600000', ...targets], {
  cwd: apiDir,
  env,
  stdio: 'inherit',
});
if (r.status !== 0)
  console.log(
    `\nchaos run failed; replay with: pnpm test:chaos --seed ${env.CHAOS_SEED} ${filters.join(' ')}`,
  );
process.exit(r.status ?? 1);
