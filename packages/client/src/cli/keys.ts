// `tollgate keys …` (tenant API keys) and `tollgate operators …` (operator keys), product.md "Credentials".
import type * as Bootstrap from '@tollgate/api/operators-bootstrap';
import { int, type OptionSpec, str } from './args.ts';
import {
  type Command,
  type CommandContext,
  type CommandResult,
  isoArg,
  nextCursorLine,
  oneOf,
} from './commands.ts';
import { UsageError } from './exit-codes.ts';
import { keyValues, table } from './format.ts';

const KEY_COLUMNS = ['id', 'name', 'mode', 'prefix', 'createdAt', 'lastUsedAt', 'expiresAt', 'revokedAt'];
const OPERATOR_COLUMNS = [
  'id',
  'name',
  'role',
  'prefix',
  'createdAt',
  'lastUsedAt',
  'expiresAt',
  'revokedAt',
];

const pageOptions: Record<string, OptionSpec> = {
  active: { type: 'boolean', help: 'hide revoked keys' },
  limit: { type: 'string', value: '<n>', help: 'page size (default 20, max 100)' },
  cursor: { type: 'string', value: '<cursor>', help: 'next page, from a previous call' },
};
const expiresAt: OptionSpec = {
  type: 'string',
  value: '<date>',
  help: 'when the key stops working (2026-12-31 or an ISO time; default never)',
};

function positional(
  ctx: { args: CommandContext['args'] },
  index: number,
  name: string,
  cmd: string[],
): string {
  const v = ctx.args.positionals[cmd.length + index];
  if (v === undefined || v === '') throw new UsageError(`missing argument ${name}`, cmd);
  return v;
}

function optionalIso(v: string | undefined, flag: string, cmd: string[]): string | undefined {
  return v === undefined ? undefined : isoArg(v, flag, cmd);
}

/**
 * A new key's answer: plain output is the key alone (for `$(…)`), what it is goes to stderr so
 * pipes stay clean; --json gives everything.
 */
function shownOnce(
  ctx: { json: boolean; io: CommandContext['io'] },
  created: { key: string } & Record<string, unknown>,
): CommandResult {
  if (!ctx.json) {
    const { key: _key, ...view } = created;
    ctx.io.stderr.write(`${keyValues(view)}this is the only time the key is shown: store it now\n`);
  }
  return { data: created, text: `${created.key}\n` };
}

export const KEY_COMMANDS: Command[] = [
  {
    path: ['keys', 'create'],
    summary: 'create an API key for your tenant, or with --tenant for any tenant (admin); printed once',
    args: ['<name>'],
    options: {
      tenant: { type: 'string', value: '<ten_…>', help: "an admin creating another tenant's key" },
      mode: { type: 'string', value: '<live|test>', help: 'live (tg_live_…, default) or test (tg_test_…)' },
      'expires-at': expiresAt,
    },
    examples: [
      'tollgate keys create backend                        # with a tenant credential: your own key',
      'tollgate keys create backend --tenant ten_123        # with an admin token',
      'export TOLLGATE_TOKEN=$(tollgate keys create ci --mode test --expires-at 2027-01-01)',
    ],
    async run(ctx) {
      const cmd = this.path;
      const v = ctx.args.values;
      const input = {
        name: positional(ctx, 0, '<name>', cmd),
        mode: oneOf(str(v, 'mode'), ['live', 'test'], '--mode', cmd) ?? 'live',
        expiresAt: optionalIso(str(v, 'expires-at'), '--expires-at', cmd),
      };
      const tenantId = str(v, 'tenant');
      const created =
        tenantId === undefined
          ? await ctx.client.account.keys.create.mutate(input)
          : await ctx.client.admin.keys.create.mutate({ ...input, tenantId });
      return shownOnce(ctx, created);
    },
  },
  {
    path: ['keys', 'list'],
    summary: "your tenant's API keys, or with --tenant any tenant's (admin); never the keys themselves",
    args: [],
    options: {
      tenant: { type: 'string', value: '<ten_…>', help: "an admin listing another tenant's keys" },
      ...pageOptions,
    },
    examples: ['tollgate keys list', 'tollgate keys list --tenant ten_123 --active --json'],
    async run(ctx) {
      const cmd = this.path;
      const v = ctx.args.values;
      const input = {
        includeRevoked: v.active !== true,
        cursor: str(v, 'cursor'),
        limit: int(v, 'limit', cmd) ?? 20,
      };
      const tenantId = str(v, 'tenant');
      const page =
        tenantId === undefined
          ? await ctx.client.account.keys.list.query(input)
          : await ctx.client.admin.keys.list.query({ ...input, tenantId });
      return { data: page, text: table(page.items, KEY_COLUMNS) + nextCursorLine(page) };
    },
  },
  {
    path: ['keys', 'revoke'],
    summary: 'revoke an API key (yours, or with --admin any tenant’s); refused at once everywhere',
    args: ['<key-id>'],
    options: { admin: { type: 'boolean', help: "an admin revoking any tenant's key" } },
    examples: ['tollgate keys revoke key_123', 'tollgate keys revoke key_123 --admin'],
    async run(ctx) {
      const id = positional(ctx, 0, '<key-id>', this.path);
      const key =
        ctx.args.values.admin === true
          ? await ctx.client.admin.keys.revoke.mutate({ id })
          : await ctx.client.account.keys.revoke.mutate({ id });
      return { data: key, text: keyValues(key) };
    },
  },
  {
    path: ['operators', 'create'],
    summary:
      'create an operator key (admin); with DATABASE_URL set and no token: straight to the database (first admin)',
    args: [],
    options: {
      role: { type: 'string', value: '<admin|finance>', help: '(required) what the key may do' },
      name: { type: 'string', value: '<who>', help: '(required) the person or script holding it' },
      'expires-at': expiresAt,
    },
    examples: [
      'tollgate operators create --role finance --name "month-end script" --expires-at 2027-01-01',
      'DATABASE_URL=postgres://… tollgate operators create --role admin --name alice   # bootstrap',
    ],
    async run(ctx) {
      return shownOnce(ctx, await ctx.client.admin.operators.create.mutate(operatorInput(ctx, this.path)));
    },
    async runWithDatabase(ctx) {
      const input = operatorInput(ctx, this.path);
      const { bootstrapOperatorKey } = await loadBootstrap();
      const created = await bootstrapOperatorKey({
        databaseUrl: ctx.databaseUrl,
        ...input,
        expiresAt: input.expiresAt === undefined ? undefined : new Date(input.expiresAt),
      });
      return shownOnce(ctx, created);
    },
  },
  {
    path: ['operators', 'list'],
    summary: 'operator keys (admin); never the keys themselves',
    args: [],
    options: pageOptions,
    examples: ['tollgate operators list', 'tollgate operators list --active --json'],
    async run(ctx) {
      const v = ctx.args.values;
      const page = await ctx.client.admin.operators.list.query({
        includeRevoked: v.active !== true,
        cursor: str(v, 'cursor'),
        limit: int(v, 'limit', this.path) ?? 20,
      });
      return { data: page, text: table(page.items, OPERATOR_COLUMNS) + nextCursorLine(page) };
    },
  },
  {
    path: ['operators', 'revoke'],
    summary: 'revoke an operator key (admin); refused everywhere within 1 s',
    args: ['<operator-key-id>'],
    options: {},
    examples: ['tollgate operators revoke opk_123'],
    async run(ctx) {
      const id = positional(ctx, 0, '<operator-key-id>', this.path);
      const key = await ctx.client.admin.operators.revoke.mutate({ id });
      return { data: key, text: keyValues(key) };
    },
  },
];

/**
 * The bootstrap is gateway code (it writes to the database), so it is not part of the CLI: it is loaded
 * from the gateway's sources in this checkout through tsx, only for this command. Non-literal
 * specifiers keep bundlers from pulling it (and Postgres, drizzle) into the CLI.
 */
async function loadBootstrap(): Promise<typeof Bootstrap> {
  const loader = 'tsx/esm/api';
  const bootstrap = '@tollgate/api/operators-bootstrap';
  try {
    const { tsImport } = (await import(loader)) as {
      tsImport: (specifier: string, parentUrl: string) => Promise<unknown>;
    };
    return (await tsImport(bootstrap, import.meta.url)) as typeof Bootstrap;
  } catch (err) {
    throw new Error(
      `the bootstrap (DATABASE_URL set, no token) runs from a checkout of the gateway's repository: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

function operatorInput(
  ctx: { args: CommandContext['args'] },
  cmd: string[],
): { role: 'admin' | 'finance'; name: string; expiresAt: string | undefined } {
  const v = ctx.args.values;
  const role = oneOf(str(v, 'role'), ['admin', 'finance'], '--role', cmd);
  if (role === undefined) throw new UsageError('--role is required (admin or finance)', cmd);
  const name = str(v, 'name')?.trim();
  if (!name) throw new UsageError('--name is required (who holds the key)', cmd);
  return { role, name, expiresAt: optionalIso(str(v, 'expires-at'), '--expires-at', cmd) };
}
