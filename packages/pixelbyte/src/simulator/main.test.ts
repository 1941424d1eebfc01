import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../test-utils.ts';

const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(TSX, [MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => (output.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output, exited };
}

describe('pnpm sim (standalone simulator)', () => {
  it('prints its URL and key, serves the API and the control API, and exits cleanly on SIGTERM', async () => {
    const { child, output, exited } = run(['--port', '0', '--manual', '--quiet'], {
      PIXELBYTE_SIM_API_KEY: 'pb_env_key',
    });
    const url = await waitFor('the URL', () => /PIXELBYTE_BASE_URL=(\S+)/.exec(output.stdout)?.[1], 90_000);
    expect(output.stdout).toContain('PIXELBYTE_API_KEY=pb_env_key');

    const submit = await fetch(`${url}/v1/jobs/submit`, {
      method: 'POST',
      headers: { authorization: 'Bearer pb_env_key', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'google/nano-banana', input: { prompt: 'x' } }),
    });
    expect(submit.status).toBe(200);
    const { jobId } = (await submit.json()) as { jobId: string };
    const advanced = await fetch(`${url}/__sim/jobs/${jobId}/advance`, {
      method: 'POST',
      body: '{"to":"completed"}',
    });
    expect(await advanced.json()).toMatchObject({ jobId, status: 'completed', costMicroCents: '40000' });

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);

  it('refuses bad flags with a clear message and exit code 2', async () => {
    const { output, exited } = run(['--pending-ms', 'soon']);
    expect(await exited).toBe(2);
    expect(output.stderr).toContain('--pending-ms must be a whole number');
  }, 120_000);
});
