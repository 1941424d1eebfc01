import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { COMMANDS } from './commands.ts';
import { runCli } from './run.ts';
import { closest } from './suggest.ts';

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

  it.each([[['tenants']], [['tenants', '--help']]])('lists a group: tollgate %j', async (argv) => {
    const c = capture();
    expect(await runCli(argv, { env, io: c.io })).toBe(0);
    expect(c.out()).toContain('tenants suspend <tenant>');
    expect(c.out()).toContain('tenants rotate-webhook-secret <tenant>');
    expect(c.out()).not.toContain('jobs submit');
    expect(c.err()).toBe('');
  });

  it('prints its version', async () => {
    const c = capture();
    expect(await runCli(['--version'], { env, io: c.io })).toBe(0);
    expect(c.out()).toBe(`${packageJson.version}\n`);
  });

  it.each([
    [['tenant', 'list'], 'did you mean `tenants list`?', 'run: tollgate --help'],
    [['tenants', 'lst'], 'did you mean `tenants list`?', 'run: tollgate tenants --help'],
    [['jobs', 'sumbit', 'x'], 'did you mean `jobs submit`?', 'run: tollgate jobs --help'],
    [['acount'], 'did you mean `account`?', 'run: tollgate --help'],
    [
      ['credits', 'topup', 'ten_1', '1', '--refernce', 'x'],
      'did you mean `--reference`?',
      'run: tollgate credits topup --help',
    ],
    [['reprots', 'usage'], 'did you mean `reports usage`?', 'run: tollgate --help'],
  ])('suggests the closest command for %j', async (argv, suggestion, help) => {
    const c = capture();
    expect(await runCli(argv, { env, io: c.io })).toBe(2);
    expect(c.err()).toContain(suggestion);
    expect(c.err()).toContain(help);
  });

  it('names the URL it used when the gateway is unreachable (--url over TOLLGATE_URL)', async () => {
    const c = capture();
    const code = await runCli(['account', '--url', 'http://127.0.0.1:9', '--token', 't'], {
      env: { url: 'http://example.invalid:1', token: undefined },
      io: c.io,
    });
    expect(code).toBe(7);
    expect(c.err()).toContain('is the gateway running at http://127.0.0.1:9?');
    expect(c.err()).not.toContain('example.invalid');
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

describe('help snapshots', () => {
  // One file per command under __snapshots__/help: a change of any help text shows in review.
  it('main help', async () => {
    const c = capture();
    await runCli(['--help'], { env, io: c.io });
    await expect(c.out()).toMatchFileSnapshot('__snapshots__/help/tollgate.txt');
  });
  it.each(COMMANDS.map((c) => [c.path.join(' '), c] as const))('%s --help', async (name, cmd) => {
    const c = capture();
    await runCli([...cmd.path, '--help'], { env, io: c.io });
    await expect(c.out()).toMatchFileSnapshot(`__snapshots__/help/${name.replace(/ /g, '-')}.txt`);
  });
});

describe('did you mean', () => {
  it('picks the nearest candidates only', () => {
    const models = [
      'google/nano-banana',
      'google/nano-banana-dev/text-to-image',
      'openai/sora-2/text-to-video',
    ];
    expect(closest('google/nano-banan', models)).toEqual(['google/nano-banana']);
    expect(closest('sora-2', models)).toEqual(['openai/sora-2/text-to-video']);
    expect(closest('zzzzzz', models)).toEqual([]);
  });
});

describe('shell completion', () => {
  const script = async (shell: string) => {
    const c = capture();
    expect(await runCli(['completion', shell], { env, io: c.io })).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-completion-'));
    writeFileSync(join(dir, shell), c.out());
    return join(dir, shell);
  };

  it('bash: completes commands, subcommands, flags of the command typed, and fixed values', async () => {
    const file = await script('bash');
    const complete = (line: string) =>
      execFileSync(
        'bash',
        [
          '-c',
          `source "$1"; read -ra COMP_WORDS <<< "$2"; [[ "$2" == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _tollgate; echo "\${COMPREPLY[*]}"`,
          'bash',
          file,
          line,
        ],
        { encoding: 'utf8' },
      ).trim();
    expect(complete('tollgate ten')).toBe('tenants');
    expect(complete('tollgate tenants ')).toBe(
      'create list get suspend reactivate update rotate-webhook-secret',
    );
    expect(complete('tollgate tenants update ten_1 --ma')).toBe('--markup-bps --max-concurrent-jobs');
    expect(complete('tollgate jobs list --status f')).toBe('failed');
    expect(complete('tollgate tenants list --status ')).toBe('active suspended');
    expect(complete('tollgate jobs resolve job_1 --decision ')).toBe('charge refund');
    expect(complete('tollgate reports usage --gr')).toBe('--group-by');
    expect(complete('tollgate completion ')).toBe('bash zsh');
  });

  it('zsh: the script parses (checked where zsh is installed)', async () => {
    const file = await script('zsh');
    let zsh = true;
    try {
      execFileSync('zsh', ['--version']);
    } catch {
      zsh = false;
    }
    if (!zsh) return;
    expect(execFileSync('zsh', ['-n', file], { encoding: 'utf8' })).toBe('');
    const out = execFileSync(
      'zsh',
      ['-c', `source "$1" 2>/dev/null; _tollgate_subcommands finance`, 'zsh', file],
      {
        encoding: 'utf8',
      },
    );
    expect(out.trim()).toBe('usage balances ledger');
  });
});
