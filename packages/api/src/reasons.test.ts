import { readdirSync, readFileSync } from 'node:fs';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { describe, expect, it } from 'vitest';
import { DomainError, toTRPCError } from './errors.ts';
import { type ErrorCode, isReason, REASONS, type Reason, type ReasonSpec } from './reasons.ts';

const ROOT = new URL('../../../', import.meta.url);
const API_README = new URL('packages/api/README.md', ROOT);

/** Every (reason, code, status) the table allows: its own code, and those of its `also`. */
function tableTriples(): string[] {
  const triples: string[] = [];
  for (const [reason, spec] of Object.entries(REASONS) as [Reason, ReasonSpec][]) {
    triples.push(`${reason} ${spec.code} ${spec.status}`);
    for (const [code, status] of Object.entries(spec.also ?? {})) triples.push(`${reason} ${code} ${status}`);
  }
  return triples.sort();
}

/** The README's "## Errors" table: `| \`CODE\` (STATUS) | \`REASON\` (note), … |` rows. */
function documentedTriples(): string[] {
  const text = readFileSync(API_README, 'utf8');
  const start = text.indexOf('\n## Errors\n');
  expect(start, 'packages/api/README.md has an "## Errors" section').toBeGreaterThan(0);
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end === -1 ? undefined : end);
  const triples: string[] = [];
  for (const line of section.split('\n')) {
    const row = /^\| `([A-Z_]+)` \((\d{3})\)\s*\|(.*)\|\s*$/.exec(line);
    if (!row) continue;
    const [, code, status, reasons = ''] = row;
    // Every all-caps name in backticks in the reasons cell is a reason (notes use none).
    for (const m of reasons.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) triples.push(`${m[1]} ${code} ${status}`);
  }
  return triples.sort();
}

/** The tRPC code → HTTP status mapping the gateway's answers follow. */
const trpcStatus = (code: ErrorCode) => getHTTPStatusCodeFromError(new TRPCError({ code }));

describe('the reasons table (reasons.ts)', () => {
  it("every status is tRPC's for the code, but Node's own where the answer never goes through tRPC", () => {
    const mismatched = tableTriples().filter((t) => {
      const [, code, status] = t.split(' ') as [Reason, ErrorCode, string];
      return trpcStatus(code) !== Number(status);
    });
    expect(mismatched).toEqual(['HEADERS_TOO_LARGE BAD_REQUEST 431']);
  });

  it('the README documents every reason with its code and status, and nothing that does not exist', () => {
    const documented = documentedTriples();
    const table = tableTriples();
    expect(
      documented.filter((t) => !table.includes(t)),
      'documented, not in REASONS',
    ).toEqual([]);
    expect(
      table.filter((t) => !documented.includes(t)),
      'in REASONS, not documented',
    ).toEqual([]);
    // Each pair once: a reason repeated in a row is a mistake in the docs.
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('every "`CODE` / `REASON`" written in the docs is a pair the table allows', () => {
    const docs = [
      API_README,
      new URL('packages/client/README.md', ROOT),
      new URL('README.md', ROOT),
      ...readdirSync(new URL('docs/', ROOT))
        .filter((f) => f.endsWith('.md'))
        .map((f) => new URL(`docs/${f}`, ROOT)),
    ];
    const codes = new Set<string>(
      Object.values(REASONS).flatMap((s: ReasonSpec) => [s.code, ...Object.keys(s.also ?? {})]),
    );
    const wrong: string[] = [];
    let checked = 0;
    for (const url of docs) {
      const text = readFileSync(url, 'utf8');
      for (const m of text.matchAll(/`([A-Z_]+)`\s*\/\s*`([A-Z_]+)`|`([A-Z_]+)\/([A-Z_]+)`/g)) {
        const code = m[1] ?? m[3] ?? '';
        const reason = m[2] ?? m[4] ?? '';
        if (!codes.has(code)) continue; // `PORT` / `HOST` and the like
        checked++;
        const spec: ReasonSpec | undefined = isReason(reason) ? REASONS[reason] : undefined;
        if (spec?.code !== code && spec?.also?.[code as ErrorCode] === undefined) {
          wrong.push(`${url.pathname.slice(ROOT.pathname.length)}: ${code} / ${reason}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(10);
  });

  it('a DomainError takes its code and default message from the table; a site may say more', () => {
    const plain = new DomainError({ reason: 'TEST_MODE_ONLY' });
    expect(plain).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'TEST_MODE_ONLY',
      message: REASONS.TEST_MODE_ONLY.message,
    });
    expect(getHTTPStatusCodeFromError(toTRPCError(plain))).toBe(REASONS.TEST_MODE_ONLY.status);
    const specific = new DomainError({ reason: 'JOB_NOT_FOUND', message: 'job job_1 not found' });
    expect(specific).toMatchObject({ code: 'NOT_FOUND', message: 'job job_1 not found' });
    const second = new DomainError({ reason: 'TENANT_SUSPENDED', code: 'PRECONDITION_FAILED' });
    expect(getHTTPStatusCodeFromError(toTRPCError(second))).toBe(412);
  });

  it('no dead entries: every reason is written as a literal in the server sources outside this table', () => {
    const sources: string[] = [];
    const walk = (dir: URL) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(new URL(`${e.name}/`, dir));
        else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && e.name !== 'reasons.ts') {
          sources.push(readFileSync(new URL(e.name, dir), 'utf8'));
        }
      }
    };
    for (const pkg of ['api', 'db', 'pricing']) walk(new URL(`packages/${pkg}/src/`, ROOT));
    const text = sources.join('\n');
    expect(Object.keys(REASONS).filter((r) => !text.includes(`'${r}'`))).toEqual([]);
  });

  it('reason names are what clients branch on: upper snake case, and isReason knows only them', () => {
    for (const reason of Object.keys(REASONS)) expect(reason).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
    expect(isReason('INSUFFICIENT_BALANCE')).toBe(true);
    expect(isReason('INSUFFICIENT_BALANCES')).toBe(false);
    expect(isReason('toString')).toBe(false);
  });
});
