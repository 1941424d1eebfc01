// The root README's walkthrough ("Your first job in two minutes") is a terminal transcript: this test
// runs its commands in bash, as written, against a real gateway + Pixelbyte simulator + Postgres, and
// compares what they print with the README, line by line. Only what differs from run to run is
// masked: ids, secrets, times, ETAs, and the `processing` progress line (whether a poll lands in that
// short phase is timing). `pnpm -s tollgate` runs the bin directly (a shell function), so the test
// needs no pnpm; pnpm's part (-s: no banner) is pnpm's own.
//
// After changing the CLI's output on purpose: UPDATE_README=1 pnpm --filter @tollgate/client exec
// vitest run test/readme-walkthrough.e2e.test.ts rewrites the block from a real run.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from '../../api/test/harness.ts';

const run = promisify(execFile);
const README = fileURLToPath(new URL('../../../README.md', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/tollgate.mjs', import.meta.url));
const START = /<!-- walkthrough:start[^>]*-->\n\n```console\n/;
const END = '```\n\n<!-- walkthrough:end -->';

type Step = { command: string; output: string[] };

function steps(block: string): Step[] {
  const out: Step[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('$ ')) out.push({ command: line.slice(2), output: [] });
    else out.at(-1)?.output.push(line);
  }
  return out;
}

/** What changes from run to run, masked; column padding collapsed (ids have one length, but still). */
function normalize(lines: string[]): string[] {
  return lines
    .map((l) =>
      l
        .replace(/\b(ten|job|txn|req|key|opk)_[a-z0-9]+/g, '$1_…')
        .replace(/whsec_[A-Za-z0-9+/=_-]+/g, 'whsec_…')
        .replace(/\btg_(live|test|op)_[A-Za-z0-9]+/g, 'tg_$1_…')
        .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<time>')
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
        .replace(/ETA (~\d+[sm]|passed)/g, 'ETA …')
        .replace(/ {2,}/g, '  ')
        .trimEnd(),
    )
    .filter((l) => !/^<time> job_… processing/.test(l))
    .filter((l, i, all) => l !== '' || i < all.length - 1);
}

let h: Harness;
let dir = '';
beforeAll(async () => {
  // Jobs move on upstream by themselves and the gateway's poller follows, as with `pnpm start`.
  h = await startHarness({
    sim: { autoAdvance: true, pendingMs: 1_500, processingMs: 1_000 },
    autoStartWorkers: true,
  });
  dir = await mkdtemp(join(tmpdir(), 'tollgate-walkthrough-'));
});
afterAll(async () => {
  await h?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

it('the README walkthrough prints what the README shows', { timeout: 180_000 }, async () => {
  const readme = await readFile(README, 'utf8');
  const start = START.exec(readme);
  const end = readme.indexOf(END);
  expect(start, 'README.md has the walkthrough block').not.toBeNull();
  if (start === null) return;
  const block = readme.slice(start.index + start[0].length, end);
  const expected = steps(block);
  expect(expected.length).toBeGreaterThan(5);

  // One bash session, as a person types it: ids the README shows are replaced by the ones this run
  // created (the first ten_… printed), each command is preceded by a marker line.
  const script = [
    'set -u',
    'exec 2>&1',
    `pnpm() { if [[ $1 == -s && $2 == tollgate ]]; then shift 2; node ${JSON.stringify(BIN)} "$@"; else command pnpm "$@"; fi; }`,
    'TENANT=',
    ...expected.flatMap((s, i) => [
      `echo "@@step ${i}@@"`,
      // Braces, not a pipe: `export …` must run in this shell.
      `{ ${s.command.replace(/\bten_[a-z0-9]{20}\b/g, '$TENANT')}; } > .out-${i} 2>&1; cat .out-${i}`,
      `[[ -z $TENANT ]] && TENANT=$(grep -o 'ten_[a-z0-9]*' .out-${i} | head -1)`,
    ]),
    'echo "@@end@@"',
  ].join('\n');
  const admin = await h.token({ role: 'admin', sub: 'dev-admin' });
  const { stdout } = await run('bash', ['-c', script], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      TOLLGATE_URL: h.url,
      TOLLGATE_TOKEN: admin,
      TOLLGATE_ADMIN_TOKEN: admin,
    },
    timeout: 150_000,
    maxBuffer: 16 << 20,
  });
  const actual = stdout
    .split(/^@@step \d+@@\n/m)
    .slice(1)
    .map((chunk) => chunk.replace(/@@end@@\n$/, '').replace(/\n$/, ''))
    .map((chunk) => (chunk === '' ? [] : chunk.split('\n')));

  if (process.env.UPDATE_README === '1') {
    const tenant = /ten_[a-z0-9]{20}/.exec(actual.flat().join('\n'))?.[0] ?? 'ten_…';
    const text = expected
      .map((s, i) =>
        [`$ ${s.command.replace(/\bten_[a-z0-9]{20}\b/g, tenant)}`, ...(actual[i] ?? [])].join('\n'),
      )
      .join('\n')
      .replace(/\n+$/, '');
    await writeFile(README, `${readme.slice(0, start.index + start[0].length)}${text}\n${readme.slice(end)}`);
    return;
  }
  for (const [i, s] of expected.entries()) {
    expect(normalize(actual[i] ?? []), `output of: $ ${s.command}`).toEqual(normalize(s.output));
  }
});
