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
import { COMMANDS, type Command, type Io } from './commands.ts';
import type { CliEnv } from './env.ts';
import { EXIT, exitCodeFor, UsageError } from './exit-codes.ts';
import { toJson, usd } from './format.ts';

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

export function commandHelp(cmd: Command): string {
  const lines = [
    `tollgate ${cmd.path.join(' ')} — ${cmd.summary}`,
    '',
    `Usage: tollgate ${[...cmd.path, ...cmd.args].join(' ')}${Object.keys(cmd.options).length > 0 ? ' [options]' : ''}`,
  ];
  if (Object.keys(cmd.options).length > 0) lines.push('', 'Options:', ...optionLines(cmd.options));
  lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS));
  lines.push('', 'Examples:', ...cmd.examples.map((e) => `  ${e}`), '', FROM_THE_REPO, '');
  return lines.join('\n');
}

export function mainHelp(prefix: string[] = []): string {
  const cmds = COMMANDS.filter((c) => prefix.every((p, i) => c.path[i] === p));
  const rows = cmds.map((c) => [[...c.path, ...c.args].join(' '), c.summary] as const);
  const width = Math.max(...rows.map(([u]) => u.length));
  return [
    'tollgate — the command line of the tollgate gateway (tenants, credits, jobs, reports).',
    '',
    `Usage: tollgate ${prefix.length > 0 ? `${prefix.join(' ')} ` : ''}<command> [options]`,
    '',
    'Commands:',
    ...rows.map(([u, s]) => `  ${u.padEnd(width)}  ${s}`),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Configuration: --url/--token, or TOLLGATE_URL / TOLLGATE_TOKEN.',
    'Run `tollgate <command> --help` for its options and examples.',
    FROM_THE_REPO,
    'Exit codes: 0 ok, 1 error, 2 usage, 3 auth, 4 not found, 5 conflict, 6 insufficient credits/limit,',
    '            7 rate-limited/unavailable.',
    '',
  ].join('\n');
}

const ALL_OPTIONS: Record<string, OptionSpec> = Object.assign(
  {},
  GLOBAL_OPTIONS,
  ...COMMANDS.map((c) => c.options),
);

function findCommand(words: string[]): Command | undefined {
  let best: Command | undefined;
  for (const c of COMMANDS) {
    if (c.path.every((p, i) => words[i] === p) && (best === undefined || c.path.length > best.path.length)) {
      best = c;
    }
  }
  return best;
}

/** Runs the CLI; returns the exit code (the caller sets process.exitCode). Never throws. */
export async function runCli(argv: readonly string[], opts: RunOptions): Promise<number> {
  const { io } = opts;
  let json = argv.includes('--json');
  if (argv.includes('--version')) {
    io.stdout.write(`${packageJson.version}\n`);
    return EXIT.ok;
  }
  try {
    let words: string[];
    try {
      words = commandWords(argv, ALL_OPTIONS);
    } catch {
      words = [];
    }
    const cmd = findCommand(words);
    if (cmd === undefined) {
      const wantsHelp = argv.includes('--help') || argv.includes('-h') || words.length === 0;
      const prefix = COMMANDS.some((c) => c.path[0] === words[0]) && words[0] !== undefined ? [words[0]] : [];
      if (wantsHelp && (words.length === 0 || (prefix.length > 0 && words.length === 1))) {
        io.stdout.write(mainHelp(prefix));
        return EXIT.ok;
      }
      throw new UsageError(
        words.length === 0 ? 'no command given' : `unknown command: ${words.join(' ')}`,
        prefix,
      );
    }
    const parsed = parseStrict(argv, { ...GLOBAL_OPTIONS, ...cmd.options }, cmd.path);
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

    const url = flags.url ?? opts.env.url ?? DEFAULT_URL;
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
    return reportError(err, io, json, opts.env.url);
  }
}

/** What to do next, per error class: the line people need after "error: …". */
function hint(err: unknown, url: string | undefined): string | undefined {
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
    return `is the gateway running at ${url ?? DEFAULT_URL}? Start it with \`pnpm start\`, or set TOLLGATE_URL / --url`;
  }
  if (err instanceof ServiceUnavailableError) return 'the gateway or Pixelbyte is unavailable: retry later';
  return undefined;
}

function reportError(err: unknown, io: Io, json: boolean, url: string | undefined): number {
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
