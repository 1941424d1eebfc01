// Entry of the `tollgate` CLI (`pnpm tollgate …` or the `tollgate` bin).
import { readCliEnv } from './env.ts';
import { runCli } from './run.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  env: readCliEnv(),
  io: { stdout: process.stdout, stderr: process.stderr },
});
