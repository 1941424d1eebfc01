// Admin and finance commands beyond the first-use set in commands.ts: `tenants update`,
// `tenants rotate-webhook-secret`, `audit list`, `jobs resolve`, `prices list|upsert`,
// `finance balances|ledger`. Each is one procedure of the router (see packages/api/README.md).
import { readFileSync } from 'node:fs';
import type { RouterInputs } from '../client.ts';
import { int, type OptionSpec, str } from './args.ts';
import {
  type Command,
  type CommandContext,
  csvReport,
  isoArg,
  modeArg,
  modeOption,
  nextCursorLine,
  oneOf,
  parseAmountArg,
  positional,
  wire,
} from './commands.ts';
import { UsageError } from './exit-codes.ts';
import { keyValues, table } from './format.ts';

const page: Record<string, OptionSpec> = {
  limit: { type: 'string', value: '<n>', help: 'page size (default 20, max 100)' },
  cursor: { type: 'string', value: '<cursor>', help: 'next page, from a previous call' },
};

/**
 * Tenant id → name, from `finance.balances` (finance and admin tokens may read it): rows of reports
 * and lists show who a tenant is, not only its id. One request per command, whatever the row count.
 */
export async function tenantNames(ctx: CommandContext): Promise<Map<string, string>> {
  const r = await ctx.client.finance.balances.query();
  return new Map(r.tenants.map((t) => [t.tenantId, t.name]));
}

/** Adds `tenant` (the name) beside `tenantId` in each row, for the table. */
export function withTenantNames<T extends { tenantId?: string | null }>(
  rows: readonly T[],
  names: Map<string, string>,
): (T & { tenant: string | null })[] {
  return rows.map((r) => ({ ...r, tenant: r.tenantId ? (names.get(r.tenantId) ?? null) : null }));
}

/** `--x 12` → 12, `--x none` → null (unlimited / removed), absent → undefined (unchanged). */
function intOrNone(ctx: CommandContext, name: string, cmd: string[]): number | null | undefined {
  return str(ctx.args.values, name) === 'none' ? null : int(ctx.args.values, name, cmd);
}

function optionalIso(ctx: CommandContext, name: string, cmd: string[]): string | undefined {
  const v = str(ctx.args.values, name);
  return v === undefined ? undefined : isoArg(v, `--${name}`, cmd);
}

/** The first day of this UTC month and of the next one: the default report period. */
export function currentMonth(now: Date = new Date()): { from: string; to: string } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  return {
    from: new Date(Date.UTC(y, m, 1)).toISOString(),
    to: new Date(Date.UTC(y, m + 1, 1)).toISOString(),
  };
}

/** --from/--to as given (dates or ISO times), each defaulting to the current UTC month's bound. */
export function period(ctx: CommandContext, cmd: string[]): { from: string; to: string } {
  const month = currentMonth();
  const from = str(ctx.args.values, 'from');
  const to = str(ctx.args.values, 'to');
  return {
    from: from === undefined ? month.from : isoArg(from, '--from', cmd),
    to: to === undefined ? month.to : isoArg(to, '--to', cmd),
  };
}

export const periodOptions: Record<string, OptionSpec> = {
  from: {
    type: 'string',
    value: '<date>',
    help: 'start, inclusive: 2026-01-01 or an ISO time (default: the 1st of this month, UTC)',
  },
  to: {
    type: 'string',
    value: '<date>',
    help: 'end, exclusive (default: the 1st of next month, UTC)',
  },
};

const TENANT_VIEW_KEYS = ['id', 'name', 'status', 'markupBps', 'limits', 'webhookUrl', 'updatedAt'];
const AUDIT_COLUMNS = ['createdAt', 'actor', 'actorName', 'action', 'targetType', 'targetId', 'target'];
const PRICE_COLUMNS = ['id', 'model', 'priceVersion', 'effectiveFrom', 'inForce', 'createdBy'];
const LEDGER_COLUMNS = [
  'createdAt',
  'transactionId',
  'kind',
  'account',
  'tenant',
  'amountMicroCents',
  'balanceAfterMicroCents',
  'jobId',
  'reference',
  'reason',
];

export const OPERATOR_COMMANDS: Command[] = [
  {
    path: ['tenants', 'update'],
    summary: "change a tenant's name, markup, limits or webhook URL (admin)",
    args: ['<tenant>'],
    options: {
      name: { type: 'string', value: '<name>', help: 'new display name' },
      'markup-bps': { type: 'string', value: '<n>', help: 'markup in basis points (1000 = +10%)' },
      'max-concurrent-jobs': { type: 'string', value: '<n|none>', help: 'jobs in progress at once' },
      'daily-spend-limit': { type: 'string', value: '<usd|none>', help: 'spend cap per UTC day' },
      'requests-per-minute': { type: 'string', value: '<n|none>', help: 'submit rate limit' },
      'webhook-url': {
        type: 'string',
        value: '<https-url|none>',
        help: "where the tenant's app is notified",
      },
      'low-balance-threshold': {
        type: 'string',
        value: '<usd|none>',
        help: 'a balance.low webhook when available falls below this',
      },
    },
    examples: [
      'tollgate tenants update ten_123 --markup-bps 1500 --daily-spend-limit 250',
      'tollgate tenants update ten_123 --low-balance-threshold 5.00',
      'tollgate tenants update ten_123 --max-concurrent-jobs none --webhook-url none   # none = no limit / no URL',
    ],
    async run(ctx) {
      const cmd = this.path;
      const v = ctx.args.values;
      const daily = str(v, 'daily-spend-limit');
      const limits = {
        maxConcurrentJobs: intOrNone(ctx, 'max-concurrent-jobs', cmd),
        requestsPerMinute: intOrNone(ctx, 'requests-per-minute', cmd),
        dailySpendLimitMicroCents:
          daily === undefined
            ? undefined
            : daily === 'none'
              ? null
              : wire(parseAmountArg(daily, cmd, { allowNegative: false }), cmd),
      };
      const webhook = str(v, 'webhook-url');
      const low = str(v, 'low-balance-threshold');
      const input: RouterInputs['admin']['tenants']['update'] = {
        tenantId: positional(ctx, 0, '<tenant>', cmd),
        name: str(v, 'name'),
        markupBps: int(v, 'markup-bps', cmd),
        limits: Object.values(limits).some((l) => l !== undefined) ? limits : undefined,
        webhookUrl: webhook === 'none' ? null : webhook,
        lowBalanceThresholdMicroCents:
          low === undefined
            ? undefined
            : low === 'none'
              ? null
              : wire(parseAmountArg(low, cmd, { allowNegative: false }), cmd),
      };
      if (Object.entries(input).every(([k, x]) => k === 'tenantId' || x === undefined)) {
        throw new UsageError(
          'nothing to update: give --name, --markup-bps, a limit, --webhook-url or --low-balance-threshold',
          cmd,
        );
      }
      const tenant = await ctx.client.admin.tenants.update.mutate(input);
      return {
        data: tenant,
        text: keyValues(
          tenant,
          TENANT_VIEW_KEYS.filter((k) => k in tenant),
        ),
      };
    },
  },
  {
    path: ['tenants', 'rotate-webhook-secret'],
    summary: "replace a tenant's webhook signing secret; the new one is printed once (admin)",
    args: ['<tenant>'],
    options: {
      grace: {
        type: 'string',
        value: '<seconds>',
        help: "the old secret keeps signing beside the new one this long (default: the gateway's; 0 = stop now)",
      },
    },
    examples: [
      'tollgate tenants rotate-webhook-secret ten_123',
      'tollgate tenants rotate-webhook-secret ten_123 --grace 0 --json | jq -r .webhookSecret   # a leaked secret',
    ],
    async run(ctx) {
      const graceSeconds = int(ctx.args.values, 'grace', this.path);
      const r = await ctx.client.admin.tenants.rotateWebhookSecret.mutate({
        tenantId: positional(ctx, 0, '<tenant>', this.path),
        ...(graceSeconds === undefined ? {} : { graceSeconds }),
      });
      const grace =
        r.previousSecretExpiresAt === null
          ? 'the old secret stopped signing now'
          : `deliveries carry both signatures until ${r.previousSecretExpiresAt}, then the new one only`;
      return {
        data: r,
        text: `${keyValues(r)}\ngive the new secret to the tenant: ${grace}\n`,
      };
    },
  },
  {
    path: ['audit', 'list'],
    summary: 'admin actions, newest first: who did what to which tenant or job (admin)',
    args: [],
    options: {
      actor: { type: 'string', value: '<sub|key id>', help: 'only this actor' },
      action: { type: 'string', value: '<action>', help: 'e.g. tenant.create, credits.topup' },
      'target-type': { type: 'string', value: '<type>', help: 'tenant, job, price…' },
      'target-id': { type: 'string', value: '<id>', help: 'one tenant, job…' },
      from: { type: 'string', value: '<date>', help: 'from (inclusive): 2026-01-01 or an ISO time' },
      to: { type: 'string', value: '<date>', help: 'to (exclusive)' },
      ...page,
    },
    examples: [
      'tollgate audit list',
      'tollgate audit list --target-id ten_123 --limit 100',
      'tollgate audit list --action credits.adjust --from 2026-01-01 --json',
    ],
    async run(ctx) {
      const cmd = this.path;
      const v = ctx.args.values;
      const [r, names] = await Promise.all([
        ctx.client.admin.audit.list.query({
          actor: str(v, 'actor'),
          action: str(v, 'action'),
          targetType: str(v, 'target-type'),
          targetId: str(v, 'target-id'),
          from: optionalIso(ctx, 'from', cmd),
          to: optionalIso(ctx, 'to', cmd),
          cursor: str(v, 'cursor'),
          limit: int(v, 'limit', cmd) ?? 20,
        }),
        tenantNames(ctx),
      ]);
      const rows = r.items.map((a) => ({
        ...a,
        target: a.targetType === 'tenant' ? (names.get(a.targetId) ?? null) : null,
      }));
      return { data: r, text: table(rows, AUDIT_COLUMNS) + nextCursorLine(r) };
    },
  },
  {
    path: ['jobs', 'resolve'],
    summary: 'settle a job that needs a decision (unknown or overdue): charge or refund it (admin)',
    args: ['<job>'],
    options: {
      decision: { type: 'string', value: '<charge|refund>', help: '(required) what the tenant pays' },
      reason: { type: 'string', value: '<text>', help: '(required) why, recorded in the audit log' },
    },
    examples: [
      'tollgate jobs list --admin --stuck',
      'tollgate jobs resolve job_abc123 --decision refund --reason "upstream lost it (ticket 88)"',
    ],
    async run(ctx) {
      const cmd = this.path;
      const decision = oneOf(str(ctx.args.values, 'decision'), ['charge', 'refund'], '--decision', cmd);
      if (decision === undefined) throw new UsageError('--decision is required: charge or refund', cmd);
      const reason = str(ctx.args.values, 'reason');
      if (reason === undefined) throw new UsageError('--reason is required (recorded in the audit log)', cmd);
      const r = await ctx.client.admin.jobs.resolve.mutate({
        jobId: positional(ctx, 0, '<job>', cmd),
        decision,
        reason,
      });
      return { data: r, text: keyValues(r as Record<string, unknown>) };
    },
  },
  {
    path: ['prices', 'list'],
    summary: 'runtime price overrides, newest first, and which one is in force (admin)',
    args: [],
    options: { model: { type: 'string', value: '<model>', help: 'one model' }, ...page },
    examples: ['tollgate prices list', 'tollgate prices list --model openai/sora-2/text-to-video --json'],
    async run(ctx) {
      const v = ctx.args.values;
      const r = await ctx.client.admin.prices.list.query({
        model: str(v, 'model'),
        cursor: str(v, 'cursor'),
        limit: int(v, 'limit', this.path) ?? 20,
      });
      return { data: r, text: table(r.items, PRICE_COLUMNS) + nextCursorLine(r) };
    },
  },
  {
    path: ['prices', 'upsert'],
    summary: 'set the price of a model from a date (a pricing rule as JSON; admin, audited)',
    args: [],
    options: {
      rule: { type: 'string', value: '<json|@file>', help: '(required) the rule, or @path to a JSON file' },
      'effective-from': {
        type: 'string',
        value: '<date>',
        help: '(required) when it applies: 2026-02-01 or an ISO time',
      },
    },
    examples: [
      'tollgate models get google/nano-banana --json | jq .priceFactors   # what the current rule prices',
      'tollgate prices upsert --rule @nano-banana.json --effective-from 2026-02-01',
    ],
    async run(ctx) {
      const cmd = this.path;
      const text = str(ctx.args.values, 'rule');
      if (text === undefined) throw new UsageError('--rule is required: a JSON object or @file.json', cmd);
      let rule: unknown;
      try {
        rule = JSON.parse(text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text);
      } catch (err) {
        throw new UsageError(`--rule: ${(err as Error).message}`, cmd);
      }
      if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) {
        throw new UsageError('--rule must be a JSON object (a pricing rule)', cmd);
      }
      const effectiveFrom = isoArg(str(ctx.args.values, 'effective-from'), '--effective-from', cmd);
      const r = await ctx.client.admin.prices.upsert.mutate({
        rule: rule as Record<string, unknown>,
        effectiveFrom,
      });
      return {
        data: r,
        text: `${r.replayed ? 'already saved (same rule and date); nothing changed\n' : ''}${keyValues(r, PRICE_COLUMNS)}`,
      };
    },
  },
  {
    path: ['finance', 'balances'],
    summary: "every tenant's available and held balance, and the platform accounts (finance/admin)",
    args: [],
    options: { mode: modeOption('which book: live money (default) or test mode') },
    examples: ['tollgate finance balances', 'tollgate finance balances --mode test --json | jq .totals'],
    async run(ctx) {
      const mode = modeArg(ctx, this.path);
      const r = await ctx.client.finance.balances.query(mode === undefined ? undefined : { mode });
      const text = [
        table(r.tenants, ['tenantId', 'name', 'status', 'availableMicroCents', 'heldMicroCents']),
        `\nTOTALS\n${keyValues(r.totals)}`,
        `\nPLATFORM (from the ledger)\n${keyValues(r.platform)}`,
        `\n${r.balanced ? 'balanced: tenants + platform accounts sum to zero' : 'NOT BALANCED: run tollgate reconcile'}\n`,
      ];
      return { data: r, text: text.join(''), ...(r.balanced ? {} : { exitCode: 1 }) };
    },
  },
  {
    path: ['finance', 'ledger'],
    summary: 'the ledger lines of a period, newest first, or its CSV export (finance/admin)',
    args: [],
    options: {
      ...periodOptions,
      mode: modeOption('which book: live money (default) or test mode'),
      tenant: { type: 'string', value: '<tenant>', help: 'one tenant' },
      limit: { type: 'string', value: '<n>', help: 'lines per page (default 100, max 1000)' },
      cursor: { type: 'string', value: '<cursor>', help: 'next page, from a previous call' },
      csv: { type: 'boolean', help: 'the whole period as CSV on stdout (GET /reports/ledger.csv)' },
    },
    examples: [
      'tollgate finance ledger                                  # this month',
      'tollgate finance ledger --tenant ten_123 --from 2026-01-01 --to 2026-02-01',
      'tollgate finance ledger --from 2026-01-01 --to 2026-02-01 --csv > ledger-january.csv',
    ],
    async run(ctx) {
      const cmd = this.path;
      const v = ctx.args.values;
      const { from, to } = period(ctx, cmd);
      const tenantId = str(v, 'tenant');
      const mode = modeArg(ctx, cmd);
      if (v.csv === true) {
        return csvReport(ctx, '/reports/ledger.csv', {
          from,
          to,
          ...(tenantId ? { tenantId } : {}),
          ...(mode === undefined ? {} : { mode }),
        });
      }
      const [r, names] = await Promise.all([
        ctx.client.finance.ledger.query({
          from,
          to,
          tenantId,
          mode,
          cursor: str(v, 'cursor'),
          limit: int(v, 'limit', cmd) ?? 100,
        }),
        tenantNames(ctx),
      ]);
      const rows = withTenantNames(r.items, names);
      return {
        data: r,
        text: `LEDGER ${from} to ${to}\n${table(rows, LEDGER_COLUMNS)}${nextCursorLine(r)}`,
      };
    },
  },
];
