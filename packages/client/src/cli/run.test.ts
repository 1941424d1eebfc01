import { describe, expect, it } from 'vitest';
import { COMMANDS } from './commands.ts';
import { runCli } from './run.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

const env = { url: 'http://127.0.0.1:9', token: undefined };

describe('tollgate CLI without a gateway', () => {
  it('prints the command list and exits 0 on --help', async () => {
    const c = capture();
    expect(await runCli(['--help'], { env, io: c.io })).toBe(0);
    for (const cmd of COMMANDS) expect(c.out()).toContain(`  ${cmd.path.join(' ')}`);
  });

  it.each(COMMANDS.map((c) => [c.path.join(' '), c] as const))(
    'has --help with examples: %s',
    async (_, cmd) => {
      const c = capture();
      expect(await runCli([...cmd.path, '--help'], { env, io: c.io })).toBe(0);
      expect(c.out()).toContain(`Usage: tollgate ${cmd.path.join(' ')}`);
      expect(c.out()).toContain('Examples:\n  tollgate ');
    },
  );

  it('prints help for a bare `tollgate`', async () => {
    const c = capture();
    expect(await runCli([], { env, io: c.io })).toBe(0);
    expect(c.out()).toContain('Usage: tollgate <command>');
  });

  it('lists a group with `tollgate tenants --help`', async () => {
    const c = capture();
    expect(await runCli(['tenants', '--help'], { env, io: c.io })).toBe(0);
    expect(c.out()).toContain('tenants suspend <tenant>');
    expect(c.out()).not.toContain('jobs submit');
  });

  it.each([
    [['frobnicate'], /unknown command: frobnicate/],
    [['jobs', 'get', 'job_1', '--bogus'], /Unknown option '--bogus'/],
    [['credits', 'topup', 'ten_1'], /missing argument <amount-usd>/],
    [['credits', 'topup', 'ten_1', '12.50', '--token', 't'], /--reference is required/],
    [['credits', 'adjust', 'ten_1', '-1.5', '--token', 't'], /--reason is required/],
    [['jobs', 'get', 'job_1'], /no token: pass --token/],
    [['jobs', 'get', 'job_1', 'extra', '--token', 't'], /unexpected argument "extra"/],
  ])('exits 2 with a clear message: %j', async (argv, message) => {
    const c = capture();
    expect(await runCli(argv, { env, io: c.io })).toBe(2);
    expect(c.err()).toMatch(message);
    expect(c.err()).toMatch(/run: tollgate .*--help/);
    expect(c.out()).toBe('');
  });

  it('reports usage errors as JSON with --json', async () => {
    const c = capture();
    expect(
      await runCli(['credits', 'topup', 'ten_1', 'ten dollars', '--json', '--token', 't'], { env, io: c.io }),
    ).toBe(2);
    expect(JSON.parse(c.err())).toEqual({
      error: { code: 'USAGE', message: expect.stringContaining('invalid amount "ten dollars"') },
      exitCode: 2,
    });
  });
});
