import type { AppRouter } from '@tollgate/api/router';
import { parseUsd, toSafeNumber } from '@tollgate/pricing/money';
import { TRPCClientError } from '@trpc/client';
import type { Job, JobStatus, RouterInputs, RouterOutputs, TollgateClient } from '../client.ts';
import { TollgateError, toTollgateError } from '../errors.ts';
import { isTerminal } from '../wait.ts';
import { int, list, type OptionSpec, type Parsed, str } from './args.ts';
import { bashCompletion, zshCompletion } from './completion.ts';
import { StillRunningError, UsageError } from './exit-codes.ts';
import { keyValues, pickColumns, table, usd } from './format.ts';
import { KEY_COMMANDS } from './keys.ts';
import {
  OPERATOR_COMMANDS,
  period,
  periodOptions,
  tenantNames,
  withTenantNames,
} from './operator-commands.ts';
import { didYouMean } from './suggest.ts';
import { WEBHOOK_COMMANDS } from './webhook-commands.ts';

export type Io = {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
};

export type CommandContext = {
  client: TollgateClient;
  url: string;
  token: string | undefined;
  json: boolean;
  args: Parsed;
  io: Io;
  /** Extra fetch for the non-tRPC routes (CSV reports). */
  fetch: typeof fetch;
};

/** What a command returns: data for --json, text for people, and an exit code when not 0. */
export type CommandResult = { data: unknown; text: string; exitCode?: number };

export type Command = {
  path: string[];
  summary: string;
  /** Positional arguments, e.g. ['<tenant>', '<amount-usd>']. */
  args: string[];
  options: Record<string, OptionSpec>;
  examples: string[];
  /** Other words that name the same command (e.g. `reports usage` for `finance usage`). */
  aliases?: string[][];
  run(ctx: CommandContext): Promise<CommandResult>;
  /**
   * What the command does with DATABASE_URL set and no token, straight to the database (only the
   * operators bootstrap: the first admin of a fresh deployment). Without it, a token is required.
   */
  runWithDatabase?(ctx: DatabaseContext): Promise<CommandResult>;
  /** A command that needs no gateway and no token (`completion`): run instead of `run`. */
  offline?(ctx: Pick<CommandContext, 'json' | 'args' | 'io'>): Promise<CommandResult>;
};

export type DatabaseContext = { databaseUrl: string; json: boolean; args: Parsed; io: Io };

export function positional(
  ctx: Pick<CommandContext, 'args'>,
  index: number,
  name: string,
  cmd: string[],
): string {
  const v = ctx.args.positionals[cmd.length + index];
  if (v === undefined || v === '') throw new UsageError(`missing argument ${name}`, cmd);
  return v;
}

/** "12.50" or "$12.50" → micro-cents, exactly (never through a float). */
export function parseAmountArg(text: string, cmd: string[], opts: { allowNegative: boolean }): bigint {
  const cleaned = text.replace(/^(-?)\$/, '$1').replace(/_/g, '');
  let microCents: bigint;
  try {
    microCents = parseUsd(cleaned);
  } catch (err) {
    throw new UsageError(`invalid amount ${JSON.stringify(text)}: ${(err as Error).message}`, cmd);
  }
  if (microCents === 0n) throw new UsageError('the amount must not be zero', cmd);
  if (microCents < 0n && !opts.allowNegative) {
    throw new UsageError(`the amount must be positive, got ${JSON.stringify(text)}`, cmd);
  }
  return microCents;
}

export function wire(microCents: bigint, cmd: string[]): number {
  try {
    return toSafeNumber(microCents);
  } catch {
    throw new UsageError('the amount is too large', cmd);
  }
}

/** "k=v" params → an input object; numbers and booleans are sent as such. */
export function parseParams(
  pairs: string[],
  json: string | undefined,
  cmd: string[],
): Record<string, unknown> {
  let input: Record<string, unknown> = {};
  if (json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (err) {
      throw new UsageError(`--input is not valid JSON: ${(err as Error).message}`, cmd);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new UsageError('--input must be a JSON object, e.g. \'{"prompt":"a fox"}\'', cmd);
    }
    input = parsed as Record<string, unknown>;
  }
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param must look like key=value, got ${JSON.stringify(pair)}`, cmd);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    input[key] =
      raw === 'true' ? true : raw === 'false' ? false : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  }
  return input;
}

/** `--mode live|test`: which book (test mode's sandbox or live money). */
export function modeOption(help: string): OptionSpec {
  return { type: 'string', value: '<live|test>', help };
}

export function modeArg(ctx: Pick<CommandContext, 'args'>, cmd: string[]): 'live' | 'test' | undefined {
  return oneOf(str(ctx.args.values, 'mode'), ['live', 'test'], '--mode', cmd);
}

/** A flag whose value must be one of `choices` (checked here, so a typo is a usage error, exit 2). */
export function oneOf<const T extends string>(
  value: string | undefined,
  choices: readonly T[],
  flag: string,
  cmd: string[],
): T | undefined {
  if (value === undefined) return undefined;
  const found = choices.find((c) => c === value);
  if (found === undefined) {
    throw new UsageError(`${flag} must be one of ${choices.join(', ')}; got ${JSON.stringify(value)}`, cmd);
  }
  return found;
}

/** Every job status, for `jobs list --status` (a type test in commands.test.ts keeps it in sync). */
export const JOB_STATUSES = [
  'submitting',
  'pending',
  'processing',
  'completed',
  'failed',
  'cancelled',
  'rejected',
  'unknown',
] as const satisfies readonly JobStatus[];

export const USAGE_DIMENSIONS = ['tenant', 'model', 'day', 'tag'] as const satisfies readonly NonNullable<
  RouterInputs['finance']['usage']['groupBy']
>[number][];

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : { value: v };
}

export function nextCursorLine(page: { nextCursor: string | null }): string {
  return page.nextCursor !== null && page.nextCursor !== '' ? `more: --cursor ${page.nextCursor}\n` : '';
}

const JOB_COLUMNS = [
  'id',
  'model',
  'status',
  'costMicroCents',
  'refundedMicroCents',
  'createdAt',
  'completedAt',
];
const TENANT_COLUMNS = [
  'id',
  'name',
  'status',
  'markupBps',
  'availableMicroCents',
  'heldMicroCents',
  'activeJobs',
  'createdAt',
];
const STATEMENT_COLUMNS = [
  'createdAt',
  'kind',
  'account',
  'amountMicroCents',
  'balanceAfterMicroCents',
  'jobId',
  'reference',
  'reason',
];

function jobText(job: Job): string {
  return keyValues(job as unknown as Record<string, unknown>, [
    'id',
    'status',
    'model',
    'costMicroCents',
    'refundedMicroCents',
    'upstreamJobId',
    'output',
    'error',
    'tags',
    'createdAt',
    'completedAt',
    'estimatedCompletionTime',
  ]);
}

const ADMIN_JOB_COLUMNS = [
  'id',
  'tenant',
  'model',
  'status',
  'costMicroCents',
  'refundedMicroCents',
  'needsReview',
  'overdue',
  'createdAt',
];

/** A gateway error with a suggestion for the next line of the message (e.g. the closest model id). */
export class SuggestedError extends Error {
  constructor(
    readonly original: unknown,
    readonly suggestion: string,
  ) {
    super(original instanceof Error ? original.message : String(original));
    this.name = 'SuggestedError';
  }
}

/** Runs a call naming a model; an UNKNOWN_MODEL refusal gets "did you mean …" from the catalogue. */
async function suggestModelOnError<T>(
  ctx: CommandContext,
  model: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof TollgateError) || err.reason !== 'UNKNOWN_MODEL') throw err;
    const models = await ctx.client.models.list.query().then(
      (r) => r.items.map((m) => m.model),
      () => [] as string[],
    );
    const hint = didYouMean(model, models);
    throw new SuggestedError(err, hint === '' ? 'see: tollgate models list' : hint);
  }
}

/** One line of a quote's breakdown for people: what the factor is, with the base price's unit. */
function breakdownRow(l: Record<string, unknown>): Record<string, unknown> {
  const factor = String(l.factor ?? '');
  if (l.kind === 'base') {
    return {
      component: 'base',
      value: l.label,
      factor: `${usd(factor)} per ${String(l.unit)} (${factor} micro-cents)`,
    };
  }
  if (l.kind === 'markup')
    return { component: 'markup', value: `${String(l.bps)} bps`, factor: `× ${factor}` };
  return { component: l.component, value: l.value, factor: `× ${factor}` };
}

function breakdownTable(lines: Record<string, unknown>[]): string {
  return table(lines.map(breakdownRow), ['component', 'value', 'factor']);
}

type ModelItem = RouterOutputs['models']['list']['items'][number];

/** `models get`: the facts, then one row per parameter from its JSON Schema and price factors. */
function modelText(m: ModelItem): string {
  const head = keyValues(
    {
      model: m.model,
      name: m.name,
      category: m.category,
      baseCost: `${usd(m.baseCostMicroCents)} per ${m.unit} (${m.baseCostMicroCents} micro-cents)`,
      defaultCost: `${usd(m.defaultCostMicroCents)} (your price for the defaults)`,
      priceVersion: m.priceVersion,
      effectiveFrom: m.effectiveFrom,
    },
    undefined,
  );
  const schema = m.inputJsonSchema as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  const required = new Set(schema.required ?? []);
  const rows = Object.entries(schema.properties ?? {}).map(([name, p]) => {
    const factor = m.priceFactors[name];
    const price = [
      factor?.quantity ? `× the value (per ${m.unit})` : '',
      ...Object.entries(factor?.factors ?? {}).map(([v, f]) => `${v} ×${f ?? ' unpriced'}`),
    ]
      .filter(Boolean)
      .join(', ');
    return {
      name,
      type: String(p.type ?? '-'),
      required: required.has(name) ? 'yes' : 'no',
      default: p.default === undefined ? null : String(p.default),
      allowed: allowedText(p),
      price: price === '' ? 'free' : price,
      description: p.description ?? null,
    };
  });
  return `${head}\nPARAMETERS (--param name=value)\n${table(rows, ['name', 'type', 'required', 'default', 'allowed', 'price', 'description'])}`;
}

function allowedText(p: Record<string, unknown>): string | null {
  if (Array.isArray(p.enum)) return p.enum.join(', ');
  if (p.type === 'boolean') return 'true, false';
  const range = (lo: unknown, hi: unknown, unit: string) =>
    lo !== undefined || hi !== undefined ? `${lo ?? ''}..${hi ?? ''}${unit}` : null;
  if (p.type === 'integer' || p.type === 'number') {
    const lo = typeof p.minimum === 'number' && Math.abs(p.minimum) < 1e15 ? p.minimum : undefined;
    const hi = typeof p.maximum === 'number' && Math.abs(p.maximum) < 1e15 ? p.maximum : undefined;
    return range(lo, hi, '');
  }
  if (p.type === 'string') {
    if (p.format === 'uri') return 'a URL';
    if (typeof p.pattern === 'string') return `matches ${p.pattern}`;
    return range(p.minLength, p.maxLength, ' chars');
  }
  if (p.type === 'array') return range(p.minItems, p.maxItems, ' items');
  return null;
}

/** "in ~12s" / "in ~3m" / "overdue" until an ISO instant, for people (the gateway's estimate). */
export function eta(estimatedCompletionTime: string | null, now: number = Date.now()): string | undefined {
  if (estimatedCompletionTime === null) return undefined;
  const at = Date.parse(estimatedCompletionTime);
  if (Number.isNaN(at)) return undefined;
  const secs = Math.round((at - now) / 1000);
  if (secs <= 0) return 'ETA passed';
  return secs < 120 ? `ETA ~${secs}s` : `ETA ~${Math.round(secs / 60)}m`;
}

/**
 * Progress while waiting, on stderr: a status line on each change (with the ETA from the job's
 * `estimatedCompletionTime`); on a terminal, one line redrawn with elapsed time and the ETA.
 */
function progressReporter(io: Io, id: string): { onProgress(job: Job): void; stop(): void } {
  const started = Date.now();
  let status = 'submitting';
  let estimate: string | null = null;
  const tty = io.stderr.isTTY === true;
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;
  const etaText = () => {
    const e = isTerminal(status as JobStatus) ? undefined : eta(estimate);
    return e === undefined ? '' : `, ${e}`;
  };
  const render = () => {
    const secs = Math.round((Date.now() - started) / 1000);
    io.stderr.write(`\r\x1b[2K${frames[frame++ % frames.length]} ${id} ${status} (${secs}s${etaText()})`);
  };
  const ticker = tty ? setInterval(render, 250) : undefined;
  return {
    onProgress(job) {
      status = job.status;
      estimate = job.estimatedCompletionTime;
      if (tty) render();
      else {
        const e = etaText();
        io.stderr.write(
          `${new Date().toISOString()} ${job.id} ${job.status}${e === '' ? '' : ` (${e.slice(2)})`}\n`,
        );
      }
    },
    stop() {
      if (ticker !== undefined) clearInterval(ticker);
      if (tty) io.stderr.write('\r\x1b[2K');
    },
  };
}

/**
 * Waits for the job with progress on stderr. Ctrl-C (SIGINT) or --timeout stop the waiting, not the
 * job: that is a StillRunningError (exit 8) saying what the job was charged and how to resume.
 */
type Seen = { id: string; status: string; costMicroCents?: number | undefined };

async function waitWithProgress(ctx: CommandContext, first: Seen, cmd: string[]): Promise<CommandResult> {
  const interval = int(ctx.args.values, 'interval', cmd) ?? 1000;
  const timeoutS = int(ctx.args.values, 'timeout', cmd);
  const progress = progressReporter(ctx.io, first.id);
  const controller = new AbortController();
  let why: 'interrupted' | 'timeout' = 'interrupted';
  let last: Seen = first;
  const onSigint = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  const timer =
    timeoutS === undefined
      ? undefined
      : setTimeout(() => {
          why = 'timeout';
          controller.abort(new Error('timeout'));
        }, timeoutS * 1000);
  try {
    const job = await ctx.client.waitForJob(first.id, {
      pollInterval: interval,
      signal: controller.signal,
      onProgress: (j) => {
        last = j;
        progress.onProgress(j);
      },
    });
    return {
      data: job,
      text: jobText(job),
      ...(job.status === 'completed' ? {} : { exitCode: 1 }),
    };
  } catch (err) {
    if (!controller.signal.aborted) throw err;
    // One quick look at the job, so the message says what it is now (the last poll may be seconds old).
    const now: Seen = await ctx.client.jobs.get
      .query({ id: first.id }, { signal: AbortSignal.timeout(2_000) })
      .catch(() => last);
    throw new StillRunningError(now.id, now.status, now.costMicroCents, why);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    progress.stop();
    process.removeListener('SIGINT', onSigint);
  }
}

const submitOptions: Record<string, OptionSpec> = {
  input: { type: 'string', value: '<json>', help: 'the model input as a JSON object' },
  param: { type: 'string', multiple: true, value: '<key=value>', help: 'one input field' },
};

export const COMMANDS: Command[] = [
  {
    path: ['tenants', 'create'],
    summary: 'create a tenant (admin)',
    args: ['<name>'],
    options: {
      'markup-bps': { type: 'string', value: '<n>', help: 'markup in basis points (1000 = +10%)' },
      'max-concurrent-jobs': { type: 'string', value: '<n>', help: 'limit of jobs in progress' },
      'daily-spend-limit': { type: 'string', value: '<usd>', help: 'spend cap per UTC day, e.g. 50.00' },
      'requests-per-minute': { type: 'string', value: '<n>', help: 'submit rate limit' },
      'webhook-url': {
        type: 'string',
        value: '<https-url>',
        help: "where tollgate notifies the tenant's app",
      },
      'low-balance-threshold': {
        type: 'string',
        value: '<usd>',
        help: 'a balance.low webhook when available falls below this',
      },
    },
    examples: ['tollgate tenants create "Acme Video" --markup-bps 2000 --daily-spend-limit 100'],
    async run(ctx) {
      const cmd = this.path;
      const name = positional(ctx, 0, '<name>', cmd);
      const v = ctx.args.values;
      const markupBps = int(v, 'markup-bps', cmd);
      const maxConcurrentJobs = int(v, 'max-concurrent-jobs', cmd);
      const requestsPerMinute = int(v, 'requests-per-minute', cmd);
      const daily = str(v, 'daily-spend-limit');
      const webhookUrl = str(v, 'webhook-url');
      const dailySpendLimitMicroCents =
        daily === undefined ? undefined : wire(parseAmountArg(daily, cmd, { allowNegative: false }), cmd);
      const anyLimit = [maxConcurrentJobs, requestsPerMinute, dailySpendLimitMicroCents].some(
        (l) => l !== undefined,
      );
      const low = str(v, 'low-balance-threshold');
      const input: RouterInputs['admin']['tenants']['create'] = {
        name,
        markupBps,
        limits: anyLimit ? { maxConcurrentJobs, requestsPerMinute, dailySpendLimitMicroCents } : undefined,
        webhookUrl,
        lowBalanceThresholdMicroCents:
          low === undefined ? undefined : wire(parseAmountArg(low, cmd, { allowNegative: false }), cmd),
      };
      const tenant = await ctx.client.admin.tenants.create.mutate(input);
      return {
        data: tenant,
        text: `${keyValues(tenant)}\nnext: tollgate credits topup ${tenant.id} <amount-usd> --reference <ref>\n`,
      };
    },
  },
  {
    path: ['tenants', 'list'],
    summary: 'list tenants with their balances (admin)',
    args: [],
    options: {
      status: { type: 'string', value: '<active|suspended>', help: 'filter by status' },
      name: { type: 'string', value: '<text>', help: 'names containing this (case-insensitive)' },
      limit: { type: 'string', value: '<n>', help: 'page size (default 20, max 100)' },
      cursor: { type: 'string', value: '<cursor>', help: 'next page, from a previous call' },
    },
    examples: [
      'tollgate tenants list',
      'tollgate tenants list --status suspended --json',
      'tollgate tenants list --name acme',
    ],
    async run(ctx) {
      const cmd = this.path;
      const v = ctx.args.values;
      const page = await ctx.client.admin.tenants.list.query({
        status: oneOf(str(v, 'status'), ['active', 'suspended'], '--status', cmd),
        name: str(v, 'name'),
        cursor: str(v, 'cursor'),
        limit: int(v, 'limit', cmd) ?? 20,
      });
      return { data: page, text: table(page.items, TENANT_COLUMNS) + nextCursorLine(page) };
    },
  },
  {
    path: ['tenants', 'get'],
    summary: 'show a tenant, its balance, limits and spend today (admin)',
    args: ['<tenant>'],
    options: {},
    examples: ['tollgate tenants get ten_123', 'tollgate tenants get ten_123 --json'],
    async run(ctx) {
      const tenantId = positional(ctx, 0, '<tenant>', this.path);
      const tenant = await ctx.client.admin.tenants.get.query({ tenantId });
      return { data: tenant, text: keyValues(tenant) };
    },
  },
  ...(['suspend', 'reactivate'] as const).map(
    (verb): Command => ({
      path: ['tenants', verb],
      summary:
        verb === 'suspend'
          ? 'suspend a tenant: its tokens are refused until reactivated (admin)'
          : 'reactivate a suspended tenant (admin)',
      args: ['<tenant>'],
      options: { reason: { type: 'string', value: '<text>', help: 'why (recorded in the audit log)' } },
      examples: [
        verb === 'suspend'
          ? 'tollgate tenants suspend ten_123 --reason "chargeback"'
          : 'tollgate tenants reactivate ten_123 --reason "paid"',
      ],
      async run(ctx) {
        const input = {
          tenantId: positional(ctx, 0, '<tenant>', this.path),
          reason: str(ctx.args.values, 'reason'),
        };
        const tenant =
          verb === 'suspend'
            ? await ctx.client.admin.tenants.suspend.mutate(input)
            : await ctx.client.admin.tenants.reactivate.mutate(input);
        return { data: tenant, text: keyValues(tenant) };
      },
    }),
  ),
  {
    path: ['credits', 'topup'],
    summary: "add prepaid credit to a tenant's balance (admin, idempotent)",
    args: ['<tenant>', '<amount-usd>'],
    options: {
      reference: { type: 'string', value: '<text>', help: '(required) payment or invoice reference' },
      'idempotency-key': {
        type: 'string',
        value: '<key>',
        help: 'default: derived by the gateway from tenant, amount and reference',
      },
      mode: modeOption('live: real money (default); test: free credit into the test balance'),
    },
    examples: [
      'tollgate credits topup ten_123 12.50 --reference INV-2024-001',
      "tollgate credits topup ten_123 '$1000' --reference wire-88 --json   # quote a $: the shell expands it",
      'tollgate credits topup ten_123 50 --reference sandbox-1 --mode test   # test mode credit, free',
    ],
    async run(ctx) {
      const cmd = this.path;
      const tenantId = positional(ctx, 0, '<tenant>', cmd);
      const amount = parseAmountArg(positional(ctx, 1, '<amount-usd>', cmd), cmd, { allowNegative: false });
      const reference = str(ctx.args.values, 'reference');
      if (reference === undefined)
        throw new UsageError('--reference is required (e.g. the invoice number)', cmd);
      const idempotencyKey = str(ctx.args.values, 'idempotency-key');
      const r = await ctx.client.admin.credits.topUp.mutate({
        tenantId,
        amountMicroCents: wire(amount, cmd),
        reference,
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        mode: modeArg(ctx, cmd),
      });
      const what = r.replayed
        ? 'already applied (same command seen before); nothing added'
        : `added ${usd(amount)}${modeArg(ctx, cmd) === 'test' ? ' of test credit' : ''}`;
      return {
        data: { ...r, tenantId, amountMicroCents: wire(amount, cmd) },
        text: `${what} — ${tenantId} now has ${usd(r.availableMicroCents)} available (${r.transactionId})\n`,
      };
    },
  },
  {
    path: ['credits', 'adjust'],
    summary: 'correct a balance up or down (admin, idempotent by --idempotency-key; never below zero)',
    args: ['<tenant>', '<amount-usd>'],
    options: {
      reason: {
        type: 'string',
        value: '<text>',
        help: '(required) why, recorded in the ledger and audit log',
      },
      reference: { type: 'string', value: '<text>', help: 'same as --reason when --reason is not given' },
      'idempotency-key': {
        type: 'string',
        value: '<key>',
        help: 'makes a retry safe; without one every run is a new adjustment',
      },
    },
    examples: [
      'tollgate credits adjust ten_123 -2.50 --reason "refund for ticket 4411"',
      'tollgate credits adjust ten_123 5 --reason goodwill',
    ],
    async run(ctx) {
      const cmd = this.path;
      const tenantId = positional(ctx, 0, '<tenant>', cmd);
      const amount = parseAmountArg(positional(ctx, 1, '<amount-usd>', cmd), cmd, { allowNegative: true });
      const reason = str(ctx.args.values, 'reason') ?? str(ctx.args.values, 'reference');
      if (reason === undefined) throw new UsageError('--reason is required', cmd);
      const idempotencyKey = str(ctx.args.values, 'idempotency-key');
      const r = await ctx.client.admin.credits.adjust.mutate({
        tenantId,
        amountMicroCents: wire(amount, cmd),
        reason,
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      });
      const what = r.replayed
        ? 'already applied (same command seen before); nothing changed'
        : `adjusted by ${usd(amount)}`;
      return {
        data: { ...r, tenantId, amountMicroCents: wire(amount, cmd) },
        text: `${what} — ${tenantId} now has ${usd(r.availableMicroCents)} available (${r.transactionId})\n`,
      };
    },
  },
  {
    path: ['token', 'issue'],
    summary: "sign a tenant token for the tenant's app (admin)",
    args: ['<tenant>'],
    options: {
      ttl: {
        type: 'string',
        value: '<seconds>',
        help: 'lifetime in seconds, 60 to 31622400 (default 90 days)',
      },
      sub: { type: 'string', value: '<principal>', help: 'recorded as the actor (default tenant:<id>)' },
    },
    examples: [
      'tollgate token issue ten_123',
      'tollgate token issue ten_123 --ttl 3600 --sub ci-bot',
      'export TOLLGATE_TOKEN=$(tollgate token issue ten_123 --json | jq -r .token)',
    ],
    async run(ctx) {
      const r = await ctx.client.admin.tenants.issueToken.mutate({
        tenantId: positional(ctx, 0, '<tenant>', this.path),
        ttlSeconds: int(ctx.args.values, 'ttl', this.path),
        sub: str(ctx.args.values, 'sub'),
      });
      // Plain output is the token alone (for $(…)); its expiry goes to stderr so pipes stay clean.
      if (!ctx.json) ctx.io.stderr.write(`expires ${r.expiresAt} (token id ${r.tokenId})\n`);
      return { data: r, text: `${r.token}\n` };
    },
  },
  {
    path: ['jobs', 'submit'],
    summary: 'submit a job: quoted, charged from the balance, forwarded (tenant)',
    args: ['<model>'],
    options: {
      ...submitOptions,
      'idempotency-key': {
        type: 'string',
        value: '<key>',
        help: 'default: a fresh key (reused across retries)',
      },
      'max-cost': { type: 'string', value: '<usd>', help: 'refuse if the quote is above this' },
      tag: { type: 'string', multiple: true, value: '<tag>', help: 'label for reports' },
      wait: { type: 'boolean', help: 'wait until the job finishes, showing progress' },
      interval: { type: 'string', value: '<ms>', help: 'poll interval with --wait (default 1000)' },
      timeout: {
        type: 'string',
        value: '<seconds>',
        help: 'stop waiting after this long (exit 8: the job goes on)',
      },
    },
    examples: [
      'tollgate jobs submit google/nano-banana-dev/text-to-image --param prompt="a red fox" --wait',
      `tollgate jobs submit openai/sora-2/text-to-video --input '{"prompt":"waves","duration":8}' --max-cost 1.00`,
    ],
    async run(ctx) {
      const cmd = this.path;
      const model = positional(ctx, 0, '<model>', cmd);
      const v = ctx.args.values;
      const input = parseParams(list(v, 'param'), str(v, 'input'), cmd);
      const maxCost = str(v, 'max-cost');
      const key = str(v, 'idempotency-key');
      const tags = list(v, 'tag');
      const job = await suggestModelOnError(ctx, model, () =>
        ctx.client.jobs.submit.mutate({
          model,
          input,
          ...(key === undefined ? {} : { idempotencyKey: key }),
          ...(maxCost === undefined
            ? {}
            : { maxCostMicroCents: wire(parseAmountArg(maxCost, cmd, { allowNegative: false }), cmd) }),
          ...(tags.length === 0 ? {} : { tags }),
        }),
      );
      if (v.wait === true && !isTerminal(job.status)) return waitWithProgress(ctx, job, cmd);
      return { data: job, text: `${jobText(job)}\nwait: tollgate jobs wait ${job.id}\n` };
    },
  },
  {
    path: ['jobs', 'get'],
    summary: 'show a job (tenant)',
    args: ['<job>'],
    options: {},
    examples: ['tollgate jobs get job_abc123'],
    async run(ctx) {
      const job = await ctx.client.jobs.get.query({ id: positional(ctx, 0, '<job>', this.path) });
      return { data: job, text: jobText(job) };
    },
  },
  {
    path: ['jobs', 'list'],
    summary: "list the tenant's jobs, newest first (tenant); --admin: every tenant's (admin)",
    args: [],
    options: {
      status: { type: 'string', value: '<status>', help: JOB_STATUSES.join(', '), choices: JOB_STATUSES },
      model: { type: 'string', value: '<model>', help: 'filter by model' },
      limit: { type: 'string', value: '<n>', help: 'page size (default 20, max 100)' },
      cursor: { type: 'string', value: '<cursor>', help: 'next page' },
      admin: { type: 'boolean', help: "every tenant's jobs, with tenant names (admin.jobs.list)" },
      tenant: { type: 'string', value: '<tenant>', help: 'with --admin: one tenant' },
      stuck: { type: 'boolean', help: 'with --admin: only jobs needing a decision (unknown or overdue)' },
      'needs-review': { type: 'boolean', help: 'with --admin: only jobs flagged for finance' },
    },
    examples: [
      'tollgate jobs list --status failed',
      'tollgate jobs list --json --limit 100',
      'tollgate jobs list --admin --stuck          # then: tollgate jobs resolve <job> --decision …',
    ],
    async run(ctx) {
      const cmd = this.path;
      const v = ctx.args.values;
      const common = {
        status: oneOf(str(v, 'status'), JOB_STATUSES, '--status', cmd),
        model: str(v, 'model'),
        cursor: str(v, 'cursor'),
        limit: int(v, 'limit', cmd) ?? 20,
      };
      const adminOnly = ['tenant', 'stuck', 'needs-review'].filter((f) => v[f] !== undefined);
      if (v.admin !== true && adminOnly.length > 0) {
        throw new UsageError(`--${adminOnly[0]} needs --admin (the admin view of every tenant's jobs)`, cmd);
      }
      if (v.admin === true) {
        const [page, names] = await Promise.all([
          ctx.client.admin.jobs.list.query({
            ...common,
            tenantId: str(v, 'tenant'),
            ...(v.stuck === true ? { stuck: true } : {}),
            ...(v['needs-review'] === true ? { needsReview: true } : {}),
          }),
          tenantNames(ctx),
        ]);
        return {
          data: page,
          text: table(withTenantNames(page.items, names), ADMIN_JOB_COLUMNS) + nextCursorLine(page),
        };
      }
      const page = await ctx.client.jobs.list.query(common);
      return { data: page, text: table(page.items, JOB_COLUMNS) + nextCursorLine(page) };
    },
  },
  {
    path: ['jobs', 'wait'],
    summary: 'wait for a job to finish, showing progress (tenant)',
    args: ['<job>'],
    options: {
      interval: { type: 'string', value: '<ms>', help: 'poll interval (default 1000)' },
      timeout: {
        type: 'string',
        value: '<seconds>',
        help: 'stop waiting after this long (exit 8: the job goes on)',
      },
    },
    examples: ['tollgate jobs wait job_abc123', 'tollgate jobs wait job_abc123 --timeout 600 --json'],
    async run(ctx) {
      const id = positional(ctx, 0, '<job>', this.path);
      return waitWithProgress(ctx, { id, status: 'in progress' }, this.path);
    },
  },
  {
    path: ['jobs', 'cancel'],
    summary: 'cancel a pending job; its charge is refunded once (tenant)',
    args: ['<job>'],
    options: {},
    examples: ['tollgate jobs cancel job_abc123', 'tollgate jobs cancel job_abc123 --json'],
    async run(ctx) {
      const job = await ctx.client.jobs.cancel.mutate({ id: positional(ctx, 0, '<job>', this.path) });
      const refunded = job.refundedMicroCents;
      const head =
        job.status === 'cancelled'
          ? `cancelled; refunded ${usd(refunded)}\n`
          : `cancel requested; the job is ${job.status} (refunded so far ${usd(refunded)})\n`;
      return { data: job, text: head + jobText(job) };
    },
  },
  {
    path: ['account'],
    summary: "the tenant's balance, limits and recent statement (tenant)",
    args: [],
    options: {
      limit: { type: 'string', value: '<n>', help: 'statement lines (default 10, max 100)' },
      from: {
        type: 'string',
        value: '<date>',
        help: 'statement from (inclusive): 2025-01-01 or an ISO time',
      },
      to: { type: 'string', value: '<date>', help: 'statement to (exclusive)' },
      cursor: { type: 'string', value: '<cursor>', help: 'older statement lines, from a previous call' },
    },
    examples: [
      'tollgate account',
      'tollgate account --limit 50 --from 2025-01-01',
      'tollgate account --json | jq .account.availableMicroCents',
    ],
    async run(ctx) {
      const cmd = this.path;
      const v = ctx.args.values;
      const from = str(v, 'from');
      const to = str(v, 'to');
      const [account, statement] = await Promise.all([
        ctx.client.account.get.query(),
        ctx.client.account.ledger.query({
          from: from === undefined ? undefined : isoArg(from, '--from', cmd),
          to: to === undefined ? undefined : isoArg(to, '--to', cmd),
          cursor: str(v, 'cursor'),
          limit: int(v, 'limit', cmd) ?? 10,
        }),
      ]);
      return {
        data: { account, statement },
        text: `${keyValues(account)}\nSTATEMENT (newest first)\n${table(statement.items, STATEMENT_COLUMNS)}${nextCursorLine(statement)}`,
      };
    },
  },
  {
    path: ['account', 'reset-test-balance'],
    summary: 'test mode: put the test balance back to $100.00 (a tg_test_ key or test-mode token)',
    args: [],
    options: {},
    examples: ['tollgate account reset-test-balance --token tg_test_…'],
    async run(ctx) {
      const account = await ctx.client.account.resetTestBalance.mutate();
      return {
        data: account,
        text: `test balance reset to ${usd(account.availableMicroCents)}\n${keyValues(account)}`,
      };
    },
  },
  {
    path: ['models', 'list'],
    summary: "the model catalogue with the tenant's prices (tenant)",
    args: [],
    options: {},
    examples: ['tollgate models list', 'tollgate models list --json | jq ".items[].model"'],
    async run(ctx) {
      const r = await ctx.client.models.list.query();
      const rows = r.items.map((m) => ({ ...m, perUnit: `per ${m.unit}` }));
      return {
        data: r,
        text: table(rows, ['model', 'category', 'baseCostMicroCents', 'perUnit', 'defaultCostMicroCents']),
      };
    },
  },
  {
    path: ['models', 'get'],
    summary: 'one model: its parameters (types, allowed values, defaults) and what each costs (tenant)',
    args: ['<model>'],
    options: {},
    examples: [
      'tollgate models get google/veo-3.1-fast/text-to-video',
      'tollgate models get openai/sora-2/text-to-video --json | jq .inputJsonSchema',
    ],
    async run(ctx) {
      const id = positional(ctx, 0, '<model>', this.path);
      const r = await ctx.client.models.list.query();
      const m = r.items.find((x) => x.model === id);
      if (m === undefined) {
        const hint = didYouMean(
          id,
          r.items.map((x) => x.model),
        );
        throw new UsageError(
          `unknown model ${JSON.stringify(id)}${hint ? ` — ${hint}` : ''} (tollgate models list)`,
          this.path,
        );
      }
      return { data: m, text: modelText(m) };
    },
  },
  {
    path: ['quote'],
    summary: 'price a job without submitting it (tenant)',
    args: ['<model>'],
    options: submitOptions,
    examples: [
      'tollgate quote google/veo-3.1-fast/text-to-video --param prompt="waves at dusk" --param duration=8 --param has_sound=true',
      `tollgate quote openai/sora-2/text-to-video --input '{"prompt":"waves","duration":12}' --json`,
    ],
    async run(ctx) {
      const cmd = this.path;
      const model = positional(ctx, 0, '<model>', cmd);
      const input = parseParams(list(ctx.args.values, 'param'), str(ctx.args.values, 'input'), cmd);
      const q = await suggestModelOnError(ctx, model, () => ctx.client.pricing.quote.query({ model, input }));
      const lines = Array.isArray(q.breakdown) ? q.breakdown.map(asRecord) : [];
      return {
        data: q,
        text: `${keyValues(q as unknown as Record<string, unknown>, ['model', 'costMicroCents', 'listCostMicroCents', 'priceVersion'])}${lines.length > 0 ? `\nBREAKDOWN (cost = base × factors × markup, rounded up once to a micro-cent)\n${breakdownTable(lines)}` : ''}`,
      };
    },
  },
  {
    path: ['finance', 'usage'],
    aliases: [['reports', 'usage']],
    summary: 'usage and revenue by tenant × model × day, this month by default (finance/admin)',
    args: [],
    options: {
      ...periodOptions,
      mode: modeOption('which book: live money (default) or test mode'),
      'group-by': {
        type: 'string',
        value: '<list>',
        help: 'comma list of tenant,model,day,tag (default tenant,model,day)',
      },
      csv: { type: 'boolean', help: 'write the CSV report to stdout (redirect to a file)' },
    },
    examples: [
      'tollgate finance usage                                   # this month, UTC',
      'tollgate finance usage --from 2026-01-01 --to 2026-02-01 --group-by tenant,model',
      'tollgate finance usage --from 2026-01-01 --to 2026-02-01 --group-by tenant --csv > january.csv',
    ],
    async run(ctx) {
      const cmd = this.path;
      const { from, to } = period(ctx, cmd);
      const mode = modeArg(ctx, cmd);
      const groupBy = (str(ctx.args.values, 'group-by') ?? 'tenant,model,day')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((g) => {
          const dim = USAGE_DIMENSIONS.find((d) => d === g);
          if (dim === undefined) {
            throw new UsageError(
              `--group-by: unknown dimension ${JSON.stringify(g)} (use ${USAGE_DIMENSIONS.join(',')})`,
              cmd,
            );
          }
          return dim;
        });
      if (ctx.args.values.csv === true) {
        return csvReport(ctx, '/reports/usage.csv', {
          from,
          to,
          groupBy: groupBy.join(','),
          ...(mode === undefined ? {} : { mode }),
        });
      }
      // Every page (finance.usage answers 1,000 rows at a time, then a nextCursor); rows carry the
      // tenant's name.
      const r = await ctx.client.finance.usage.query({ from, to, groupBy, mode });
      const all = [...r.rows];
      for (let cursor = r.nextCursor; cursor !== null; ) {
        const page = await ctx.client.finance.usage.query({ from, to, groupBy, mode, cursor });
        all.push(...page.rows);
        cursor = page.nextCursor;
      }
      const cols = [
        ...USAGE_DIMENSIONS.filter((d) => r.groupBy.includes(d)).flatMap((d) =>
          d === 'tenant' ? ['tenantId', 'tenantName'] : [d],
        ),
        'jobs',
        'completedJobs',
        'failedJobs',
        'cancelledJobs',
        'chargedMicroCents',
        'refundedMicroCents',
        'netMicroCents',
        'upstreamCostMicroCents',
        'marginMicroCents',
      ];
      const totals = keyValues(r.totals, cols.slice(cols.indexOf('jobs')));
      return {
        data: { ...r, rows: all, nextCursor: null },
        text: `USAGE ${r.from} to ${r.to}\n${table(all, cols)}\nTOTALS\n${totals}`,
      };
    },
  },
  {
    path: ['reconcile'],
    summary: 'prove balances = ledger and flag upstream cost mismatches (finance or admin)',
    args: [],
    options: {},
    examples: ['tollgate reconcile', 'tollgate reconcile --json'],
    async run(ctx) {
      const r = await ctx.client.admin.reconcile.query();
      // Names only when there is a row to show (a clean reconcile costs one request).
      const names =
        r.discrepancies.length + r.flags.length > 0 ? await tenantNames(ctx) : new Map<string, string>();
      const discrepancies = withTenantNames(r.discrepancies, names) as Record<string, unknown>[];
      const flags = withTenantNames(r.flags, names) as Record<string, unknown>[];
      const lines = [
        r.ok
          ? 'ok: balances equal the ledger, every hold resolved once, every ended job settled\n'
          : `NOT OK: ${discrepancies.length} discrepanc${discrepancies.length === 1 ? 'y' : 'ies'}\n`,
        discrepancies.length > 0 ? table(discrepancies, pickColumns(discrepancies, [])) : '',
        flags.length > 0
          ? `\nFLAGS for review (${flags.length})\n${table(flags, pickColumns(flags, []))}`
          : '',
        `\nTOTALS (all time)\n${keyValues(r.totals)}`,
      ];
      return { data: r, text: lines.join(''), ...(r.ok ? {} : { exitCode: 1 }) };
    },
  },
  // keys.ts: `keys create|list|revoke`, `operators create|list|revoke`.
  ...KEY_COMMANDS,
  // operator-commands.ts: tenants update|rotate-webhook-secret, audit, jobs resolve, prices, finance.
  ...OPERATOR_COMMANDS,
  // webhook-commands.ts: webhooks deliveries|redeliver (the tenant's own).
  ...WEBHOOK_COMMANDS,
  {
    path: ['completion'],
    summary: 'print the shell completion script: bash or zsh (no gateway needed)',
    args: ['<bash|zsh>'],
    options: {},
    examples: [
      'tollgate completion bash > ~/.local/share/bash-completion/completions/tollgate   # bash, for good',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a zsh expansion shown to the user, not a template
      'tollgate completion zsh > "${fpath[1]}/_tollgate"                              # zsh, for good',
      'source <(tollgate completion bash)                                             # this shell only',
    ],
    async run() {
      throw new Error('completion runs offline');
    },
    async offline(ctx) {
      const shell = oneOf(positional(ctx, 0, '<bash|zsh>', this.path), ['bash', 'zsh'], '<shell>', this.path);
      const script = shell === 'zsh' ? zshCompletion(COMMANDS) : bashCompletion(COMMANDS);
      return { data: { shell, script }, text: script };
    },
  },
];

/** `2025-01-01` → `2025-01-01T00:00:00.000Z` (UTC days, as the reports use); ISO times pass through. */
export function isoArg(v: string | undefined, flag: string, cmd: string[]): string {
  if (v === undefined) throw new UsageError(`${flag} is required (e.g. ${flag} 2025-01-01)`, cmd);
  const text = /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00.000Z` : v;
  const t = Date.parse(text);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    throw new UsageError(
      `${flag}: expected a date like 2025-01-01 or an ISO time, got ${JSON.stringify(v)}`,
      cmd,
    );
  }
  return new Date(t).toISOString();
}

/** Streams a CSV route of the gateway (`/reports/usage.csv`, `/reports/ledger.csv`) to stdout. */
export async function csvReport(
  ctx: CommandContext,
  route: string,
  q: Record<string, string>,
): Promise<CommandResult> {
  const base = ctx.url.replace(/\/+$/, '').replace(/\/trpc$/, '');
  const url = `${base}${route}?${new URLSearchParams(q).toString()}`;
  const res = await ctx.fetch(url, {
    headers: ctx.token === undefined ? {} : { authorization: `Bearer ${ctx.token}` },
  });
  if (!res.ok || res.body === null) throw await httpError(res);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    ctx.io.stdout.write(decoder.decode(value, { stream: true }));
  }
  ctx.io.stdout.write(decoder.decode());
  return { data: undefined, text: '' };
}

/** A non-tRPC route's JSON error body `{ code, reason, message, requestId }` → the typed error. */
async function httpError(res: Response): Promise<unknown> {
  let body: Record<string, unknown> = {};
  try {
    body = asRecord(await res.json());
  } catch {
    // Not JSON: fall back to the status.
  }
  const message = typeof body.message === 'string' ? body.message : `HTTP ${res.status}`;
  return toTollgateError(
    TRPCClientError.from<AppRouter>(
      {
        error: {
          code: -32000,
          message,
          data: {
            code: typeof body.code === 'string' ? body.code : httpCode(res.status),
            httpStatus: res.status,
            reason: body.reason,
            requestId: body.requestId ?? res.headers.get('x-request-id'),
            ...(body.details === undefined ? {} : { details: body.details }),
          },
        },
      },
      { meta: { response: res } },
    ),
  );
}

function httpCode(status: number): string {
  const map: Record<number, string> = {
    400: 'BAD_REQUEST',
    401: 'UNAUTHORIZED',
    403: 'FORBIDDEN',
    404: 'NOT_FOUND',
    409: 'CONFLICT',
    429: 'TOO_MANY_REQUESTS',
    503: 'SERVICE_UNAVAILABLE',
  };
  return map[status] ?? 'INTERNAL_SERVER_ERROR';
}
