import packageJson from '../../package.json' with { type: 'json' };
import { createTollgateClient } from '../client.ts';
import {
  AuthError,
  ConflictError,
  InsufficientCreditsError,
  isAbort,
  LimitExceededError,
  NetworkError,
  NotFoundError,
  RateLimitedError,
  ServiceUnavailableError,
  TollgateError,
  ValidationError,
} from '../errors.ts';
import { commandWords, GLOBAL_OPTIONS, globalFlags, type OptionSpec, parseStrict } from './args.ts';
import { COMMANDS, type Command, type Io, SuggestedError } from './commands.ts';
import type { CliEnv } from './env.ts';
import { EXIT, exitCodeFor, StillRunningError, UsageError } from './exit-codes.ts';
import { toJson, usd } from './format.ts';
import { didYouMean } from './suggest.ts';

export const DEFAULT_URL = 'http://localhost:8787';

export type RunOptions = { env: CliEnv; io: Io; fetch?: typeof fetch };

function optionLines(specs: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(specs).map(([name, s]) => {
    const flag = `${s.short ? `-${s.short}, ` : ''}--${name}${s.type === 'string' ? ` ${s.value ?? '<value>'}` : ''}`;
    return [flag, s.help + (s.multiple ? ' (repeatable)' : '')] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`);
}

/** The examples say `tollgate`; from a clone of the repository the bin is reached through pnpm. */
const FROM_THE_REPO =
  "From a clone of the repo, run these as `pnpm -s tollgate …` (-s keeps pnpm's own lines off stdout, which --json and pipes need).";

/** `tollgate a b <x> [options]` */
function usageLine(path: readonly string[], cmd: Command): string {
  return `${[...path, ...cmd.args].join(' ')}${Object.keys(cmd.options).length > 0 ? ' [options]' : ''}`;
}

export function commandHelp(cmd: Command): string {
  const lines = [
    `tollgate ${cmd.path.join(' ')} — ${cmd.summary}`,
    '',
    `Usage: tollgate ${usageLine(cmd.path, cmd)}`,
  ];
  for (const alias of cmd.aliases ?? [])
    lines.push(`       tollgate ${usageLine(alias, cmd)}  (same command)`);
  if (Object.keys(cmd.options).length > 0) lines.push('', 'Options:', ...optionLines(cmd.options));
  lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS));
  lines.push('', 'Examples:', ...cmd.examples.map((e) => `  ${e}`), '', FROM_THE_REPO, '');
  return lines.join('\n');
}

/** Command groups (`tenants`, `jobs`…): first words of command names (or aliases) of two or more words. */
export function groups(): string[] {
  return [
    ...new Set(
      COMMANDS.flatMap((c) => [c.path, ...(c.aliases ?? [])])
        .filter((p) => p.length > 1)
        .map((p) => p[0] ?? ''),
    ),
  ];
}

export function mainHelp(prefix: string[] = []): string {
  const firstSeen = [...new Set(COMMANDS.map((c) => c.path[0]))];
  const under = (p: string[]) => prefix.every((w, i) => p[i] === w);
  const cmds = COMMANDS.filter((c) => [c.path, ...(c.aliases ?? [])].some(under)).sort(
    (a, b) => firstSeen.indexOf(a.path[0]) - firstSeen.indexOf(b.path[0]),
  );
  const rows = cmds.flatMap((c) => [
    ...(under(c.path) ? [[[...c.path, ...c.args].join(' '), c.summary] as const] : []),
    ...(c.aliases ?? []).filter(under).map((a) => [a.join(' '), `same as \`${c.path.join(' ')}\``] as const),
  ]);
  const width = Math.max(...rows.map(([u]) => u.length));
  return [
    prefix.length === 0
      ? 'tollgate — the command line of the tollgate gateway (tenants, credits, jobs, reports).'
      : `tollgate ${prefix.join(' ')} — its commands:`,
    '',
    `Usage: tollgate ${prefix.length > 0 ? `${prefix.join(' ')} ` : ''}<command> [options]`,
    '',
    'Commands:',
    ...rows.map(([u, s]) => `  ${u.padEnd(width)}  ${s}`),
    '',
    'Global options:',
    ...optionLines({ ...GLOBAL_OPTIONS, version: { type: 'boolean', help: 'print the version of the CLI' } }),
    '',
    'Configuration: --url/--token, or TOLLGATE_URL / TOLLGATE_TOKEN.',
    'Run `tollgate <command> --help` for its options and examples; `tollgate completion bash|zsh` for',
    'shell completion.',
    FROM_THE_REPO,
    'Exit codes: 0 ok, 1 error, 2 usage, 3 auth, 4 not found, 5 conflict, 6 insufficient credits/limit,',
    '            7 rate-limited/unavailable, 8 stopped waiting while the job still runs.',
    '',
  ].join('\n');
}

const ALL_OPTIONS: Record<string, OptionSpec> = Object.assign(
  {},
  GLOBAL_OPTIONS,
  ...COMMANDS.map((c) => c.options),
);

/** The command the words name (its path or an alias, the longest match), and how many words it used. */
export function findCommand(words: readonly string[]): { cmd: Command; path: string[] } | undefined {
  let best: { cmd: Command; path: string[] } | undefined;
  for (const cmd of COMMANDS) {
    for (const path of [cmd.path, ...(cmd.aliases ?? [])]) {
      if (path.every((p, i) => words[i] === p) && (best === undefined || path.length > best.path.length)) {
        best = { cmd, path };
      }
    }
  }
  return best;
}

/** Every way to name a command ("tenants list", "reports usage"…), for suggestions and completion. */
export function commandNames(): string[] {
  return COMMANDS.flatMap((c) => [c.path, ...(c.aliases ?? [])].map((p) => p.join(' ')));
}

/** Unknown words → a usage error that suggests the closest command (or the group's help). */
function unknownCommand(words: string[]): UsageError {
  const group = groups().includes(words[0] ?? '') ? [words[0] ?? ''] : [];
  const typed = words.slice(0, 2).join(' ');
  const names = commandNames();
  const inGroup = group.length > 0 ? names.filter((n) => n.startsWith(`${group[0]} `)) : names;
  const suggestion =
    didYouMean(typed, inGroup) ||
    didYouMean(words[0] ?? '', [...groups(), ...names.filter((n) => !n.includes(' '))]);
  return new UsageError(
    `unknown command: ${words.join(' ')}${suggestion === '' ? '' : ` — ${suggestion}`}`,
    group,
  );
}

/** Runs the CLI; returns the exit code (the caller sets process.exitCode). Never throws. */
export async function runCli(argv: readonly string[], opts: RunOptions): Promise<number> {
  const { io } = opts;
  let json = argv.includes('--json');
  let url = opts.env.url ?? DEFAULT_URL;
  try {
    let words: string[];
    try {
      words = commandWords(argv, ALL_OPTIONS);
    } catch {
      words = [];
    }
    const found = findCommand(words);
    if (found === undefined) {
      if (words.length === 0 && argv.includes('--version')) {
        io.stdout.write(`${packageJson.version}\n`);
        return EXIT.ok;
      }
      // `tollgate` alone, or a group alone (`tollgate tenants`, with or without --help): its commands.
      if (words.length === 0 || (words.length === 1 && groups().includes(words[0] ?? ''))) {
        io.stdout.write(mainHelp(words));
        return EXIT.ok;
      }
      throw unknownCommand(words);
    }
    const { cmd, path } = found;
    const parsed = parseStrict(argv, { ...GLOBAL_OPTIONS, ...cmd.options }, cmd.path);
    // Commands read their arguments after `cmd.path`: an alias of another length is rewritten to it.
    parsed.positionals = [...cmd.path, ...parsed.positionals.slice(path.length)];
    const flags = globalFlags(parsed.values);
    json = flags.json;
    if (flags.help) {
      io.stdout.write(commandHelp(cmd));
      return EXIT.ok;
    }
    const missing = cmd.args[parsed.positionals.length - cmd.path.length];
    if (missing !== undefined) throw new UsageError(`missing argument ${missing}`, cmd.path);
    const extra = parsed.positionals.slice(cmd.path.length + cmd.args.length);
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`, cmd.path);

    url = flags.url ?? url;
    if (cmd.offline !== undefined) {
      const result = await cmd.offline({ json, args: parsed, io });
      if (json && result.data !== undefined) io.stdout.write(toJson(result.data));
      else if (!json) io.stdout.write(result.text);
      return result.exitCode ?? EXIT.ok;
    }
    const token = flags.token ?? opts.env.token;
    if (token === undefined && cmd.runWithDatabase && opts.env.databaseUrl) {
      const result = await cmd.runWithDatabase({ databaseUrl: opts.env.databaseUrl, json, args: parsed, io });
      io.stdout.write(json ? toJson(result.data) : result.text);
      return result.exitCode ?? EXIT.ok;
    }
    if (token === undefined) {
      throw new UsageError(
        'no token: pass --token <key|jwt> or set TOLLGATE_TOKEN (an API key, an operator key or a JWT; admin commands need an admin one; `pnpm start` prints an admin token in dev mode)',
        cmd.path,
      );
    }
    const fetchImpl = opts.fetch ?? globalThis.fetch;
    const client = createTollgateClient({
      url,
      token,
      fetch: (u, init) => fetchImpl(u, init),
    });
    const result = await cmd.run({ client, url, token, json, args: parsed, io, fetch: fetchImpl });
    if (json && result.data !== undefined) io.stdout.write(toJson(result.data));
    else if (!json) io.stdout.write(result.text);
    return result.exitCode ?? EXIT.ok;
  } catch (err) {
    return reportError(err, io, json, url);
  }
}

/** What to do next, per error class: the line people need after "error: …". */
function hint(err: unknown, url: string): string | undefined {
  if (err instanceof UsageError) {
    return `run: tollgate ${err.helpFor.length > 0 ? `${err.helpFor.join(' ')} ` : ''}--help`;
  }
  if (err instanceof InsufficientCreditsError) {
    const req = err.requiredMicroCents;
    const avail = err.availableMicroCents;
    if (err.reason === 'ADJUSTMENT_BELOW_ZERO') {
      return `a balance never goes below zero${avail === undefined ? '' : `: ${usd(avail)} available`}; nothing was changed`;
    }
    const amounts =
      req !== undefined && avail !== undefined ? `needs ${usd(req)}, ${usd(avail)} available. ` : '';
    return `${amounts}Top up first: tollgate credits topup <tenant> <amount-usd> --reference <ref>`;
  }
  if (err instanceof LimitExceededError) {
    return err.retryAfterSeconds !== undefined
      ? `a tenant limit was reached; it frees up in ~${Math.ceil(err.retryAfterSeconds)}s (an admin can raise the limit)`
      : 'a limit was reached (an admin can raise tenant limits; --max-cost is your own cap)';
  }
  if (err instanceof RateLimitedError) {
    return `slow down: retry in ${err.retryAfterSeconds === undefined ? 'a few seconds' : `${Math.ceil(err.retryAfterSeconds)}s`}`;
  }
  if (err instanceof AuthError) {
    return err.code === 'FORBIDDEN'
      ? 'this token may not do that (admin commands need an admin token; suspended tenants are refused)'
      : 'check --token / TOLLGATE_TOKEN: it must be a valid API key (tg_live_…/tg_test_…), operator key (tg_op_…) or unexpired JWT of this gateway, not revoked';
  }
  if (err instanceof NotFoundError) return 'check the id (a tenant only ever sees its own jobs)';
  if (err instanceof ConflictError) {
    if (err.retryable) return 'the same request is still in flight: retry in a moment';
    if (err.reason === 'IDEMPOTENCY_CONFLICT')
      return 'this idempotency key was used for a different request: pass a new --idempotency-key';
    // PRECONDITION_FAILED (JOB_NOT_CANCELLABLE, JOB_ALREADY_SETTLED…): the message says why.
    return undefined;
  }
  if (err instanceof ValidationError) {
    return err.issues.length > 0
      ? err.issues.map((i) => `  ${i.path || '(input)'}: ${i.message}`).join('\n')
      : undefined;
  }
  if (err instanceof NetworkError) {
    return `is the gateway running at ${url}? Start it with \`pnpm start\`, or set TOLLGATE_URL / --url`;
  }
  if (err instanceof ServiceUnavailableError) return 'the gateway or Pixelbyte is unavailable: retry later';
  return undefined;
}

/** Ctrl-C or --timeout while waiting: no error, the job goes on; what it cost and how to resume. */
function reportStillRunning(err: StillRunningError, io: Io, json: boolean): number {
  const resume = `tollgate jobs wait ${err.jobId}`;
  if (json) {
    io.stderr.write(
      toJson({
        error: {
          code: 'STILL_RUNNING',
          message: err.message,
          jobId: err.jobId,
          status: err.status,
          costMicroCents: err.costMicroCents ?? null,
          resume,
        },
        exitCode: EXIT.stillRunning,
      }),
    );
    return EXIT.stillRunning;
  }
  const charged =
    err.costMicroCents === undefined
      ? 'charged: see `tollgate jobs get`'
      : `charged ${usd(err.costMicroCents)} (refunded automatically if it fails or is cancelled)`;
  io.stderr.write(`${err.message}; ${charged}\nresume: ${resume}\n`);
  return EXIT.stillRunning;
}

function reportError(thrown: unknown, io: Io, json: boolean, url: string): number {
  if (thrown instanceof StillRunningError) return reportStillRunning(thrown, io, json);
  const suggestion = thrown instanceof SuggestedError ? thrown.suggestion : undefined;
  const err = thrown instanceof SuggestedError ? thrown.original : thrown;
  const code = isAbort(err) ? EXIT.generic : exitCodeFor(err);
  const message = err instanceof Error ? err.message : String(err);
  if (json) {
    const body =
      err instanceof TollgateError
        ? {
            code: err.code,
            reason: err.reason,
            message,
            requestId: err.requestId ?? null,
            ...(err.details === undefined ? {} : { details: err.details }),
            ...(suggestion === undefined ? {} : { suggestion }),
          }
        : { code: err instanceof UsageError ? 'USAGE' : 'ERROR', message };
    io.stderr.write(toJson({ error: body, exitCode: code }));
    return code;
  }
  const lines = [`error: ${message}`];
  if (err instanceof TollgateError) {
    lines.push(`  reason: ${err.reason}${err.requestId ? ` (request ${err.requestId})` : ''}`);
  }
  const h = hint(err, url);
  if (h !== undefined) lines.push(h);
  if (suggestion !== undefined) lines.push(suggestion);
  if (
    !(err instanceof TollgateError) &&
    !(err instanceof UsageError) &&
    !isAbort(err) &&
    err instanceof Error
  ) {
    lines.push(err.stack ?? '');
  }
  io.stderr.write(`${lines.join('\n')}\n`);
  return code;
}
