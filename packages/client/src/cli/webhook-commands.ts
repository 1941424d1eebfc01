// The tenant's own webhook deliveries (`account.webhooks.deliveries|redeliver`, Standard Webhooks):
// what was sent, how it went, and a redelivery. Each is one procedure (see packages/api/README.md).
import type { RouterInputs } from '../client.ts';
import { int, type OptionSpec, str } from './args.ts';
import { type Command, nextCursorLine, oneOf, positional } from './commands.ts';
import { keyValues, table } from './format.ts';

const DELIVERY_COLUMNS = [
  'id',
  'type',
  'jobId',
  'status',
  'attempts',
  'lastStatusCode',
  'lastAttemptAt',
  'nextAttemptAt',
  'url',
];

const page: Record<string, OptionSpec> = {
  limit: { type: 'string', value: '<n>', help: 'page size (default 20, max 100)' },
  cursor: { type: 'string', value: '<cursor>', help: 'next page, from a previous call' },
};

export type DeliveryType = NonNullable<
  Exclude<RouterInputs['account']['webhooks']['deliveries'], void>
>['type'] &
  string;

/** Every event type (a type test keeps it equal to the gateway's list). */
export const WEBHOOK_EVENT_TYPES = [
  'job.completed',
  'job.failed',
  'job.cancelled',
  'job.rejected',
  'balance.low',
  'limit.reached',
] as const satisfies readonly DeliveryType[];

export const WEBHOOK_COMMANDS: Command[] = [
  {
    path: ['webhooks', 'deliveries'],
    summary: "your app's webhook deliveries, newest first: status, attempts, last answer (tenant)",
    args: [],
    options: {
      status: { type: 'string', value: '<pending|delivered|failed>', help: 'only these' },
      type: {
        type: 'string',
        value: '<event>',
        help: WEBHOOK_EVENT_TYPES.join(', '),
        choices: WEBHOOK_EVENT_TYPES,
      },
      job: { type: 'string', value: '<job>', help: 'the deliveries of one job' },
      ...page,
    },
    examples: [
      'tollgate webhooks deliveries --status failed',
      'tollgate webhooks deliveries --job job_abc123 --json',
    ],
    async run(ctx) {
      const cmd = this.path;
      const v = ctx.args.values;
      const r = await ctx.client.account.webhooks.deliveries.query({
        status: oneOf(str(v, 'status'), ['pending', 'delivered', 'failed'], '--status', cmd),
        type: oneOf(str(v, 'type'), WEBHOOK_EVENT_TYPES, '--type', cmd),
        jobId: str(v, 'job'),
        cursor: str(v, 'cursor'),
        limit: int(v, 'limit', cmd) ?? 20,
      });
      return { data: r, text: table(r.items, DELIVERY_COLUMNS) + nextCursorLine(r) };
    },
  },
  {
    path: ['webhooks', 'redeliver'],
    summary: 'send a delivery again (same webhook-id; a pending one is left as it is) (tenant)',
    args: ['<delivery>'],
    options: {},
    examples: ['tollgate webhooks redeliver whd_abc123'],
    async run(ctx) {
      const d = await ctx.client.account.webhooks.redeliver.mutate({
        id: positional(ctx, 0, '<delivery>', this.path),
      });
      return {
        data: d,
        text: `${keyValues(d)}${d.status === 'pending' ? `\nqueued: sent again with webhook-id ${d.id}\n` : ''}`,
      };
    },
  },
];
