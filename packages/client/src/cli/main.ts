// Entry of the `tollgate` CLI, bundled to dist/cli.js, which bin/tollgate.mjs runs (`pnpm -s tollgate …` in the repo).
import { readCliEnv } from './env.ts';
import { runCli } from './run.ts';

// `tollgate … --json | head -1` or a jq that stops early closes our stdout: that is the reader's
// choice, not an error to print a stack trace for.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await runCli(process.argv.slice(2), {
  env: readCliEnv(),
  io: { stdout: process.stdout, stderr: process.stderr },
});
