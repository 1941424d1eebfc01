// `pnpm --filter @tollgate/pixelbyte sim`: the simulator as a standalone process (dev mode, benchmarks,
// chaos tests). Steer it through the HTTP control API under /__sim (see the package README).
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { readSimEnv } from './env.ts';
import { startSimulator } from './index.ts';
import type { SimulatorOptions } from './types.ts';

const HELP = `Pixelbyte simulator: a local Pixelbyte API over HTTP, with a control API under /__sim.

Usage: pnpm --filter @tollgate/pixelbyte sim [options]

Options (environment variable in brackets; flags win):
  --port <n>                 listen port, 0 = random (default 4010) [PIXELBYTE_SIM_PORT]
  --host <addr>              listen address (default 127.0.0.1) [PIXELBYTE_SIM_HOST]
  --api-key <key>            the accepted Bearer key (default pb_test_key) [PIXELBYTE_SIM_API_KEY]
  --balance <micro-cents>    account balance (default 1000000000000 = $1M) [PIXELBYTE_SIM_BALANCE_MICRO_CENTS]
  --pending-ms <n>           time a job stays pending (default 1000) [PIXELBYTE_SIM_PENDING_MS]
  --processing-ms <n>        time a job stays processing (default 4000) [PIXELBYTE_SIM_PROCESSING_MS]
  --manual                   no auto-advance: move jobs with POST /__sim/jobs/{id}/advance
  --outcome <o>              completed | failed: final state of jobs (default completed)
  --concurrent-jobs <n>      cap on pending+processing jobs (default 1000)
  --envelope <e>             flat | wrapped | mixed success envelope (default flat)
  --string-numbers           send amounts and progress as strings
  --webhook-secret <s>       webhook signing secret (default whsec_test) [PIXELBYTE_SIM_WEBHOOK_SECRET]
  --allow-http-webhooks      accept http:// webhook URLs (default: https only, like Pixelbyte)
  --no-webhooks              never send webhooks
  --retry-delays <ms,...>    webhook retry delays (default 1000,4000,16000,64000,256000)
  --quiet                    do not log each event
  -h, --help                 show this help`;

const int = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(z.number().min(min, `${name} must be ≥ ${min}`).max(max, `${name} must be ≤ ${max}`));

const optionsSchema = z.object({
  port: int('--port', 0, 65_535).default(4010),
  host: z.string().min(1).default('127.0.0.1'),
  apiKey: z.string().min(1).default('pb_test_key'),
  balance: z
    .string()
    .regex(/^\d{1,30}$/, '--balance must be a whole number of micro-cents')
    .transform(BigInt)
    .default(1_000_000_000_000n),
  pendingMs: int('--pending-ms', 0, 86_400_000).default(1_000),
  processingMs: int('--processing-ms', 0, 86_400_000).default(4_000),
  manual: z.boolean().default(false),
  outcome: z.enum(['completed', 'failed']).default('completed'),
  concurrentJobs: int('--concurrent-jobs', 1, 1_000_000).default(1_000),
  envelope: z.enum(['flat', 'wrapped', 'mixed']).default('flat'),
  stringNumbers: z.boolean().default(false),
  webhookSecret: z.string().min(1).default('whsec_test'),
  allowHttpWebhooks: z.boolean().default(false),
  noWebhooks: z.boolean().default(false),
  retryDelays: z
    .string()
    .regex(/^\d+(,\d+)*$/, '--retry-delays must be comma-separated whole milliseconds')
    .transform((s) => s.split(',').map(Number))
    .optional(),
  quiet: z.boolean().default(false),
});

function parse(argv: string[]): z.output<typeof optionsSchema> | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'api-key': { type: 'string' },
      balance: { type: 'string' },
      'pending-ms': { type: 'string' },
      'processing-ms': { type: 'string' },
      manual: { type: 'boolean' },
      outcome: { type: 'string' },
      'concurrent-jobs': { type: 'string' },
      envelope: { type: 'string' },
      'string-numbers': { type: 'boolean' },
      'webhook-secret': { type: 'string' },
      'allow-http-webhooks': { type: 'boolean' },
      'no-webhooks': { type: 'boolean' },
      'retry-delays': { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const env = readSimEnv();
  return optionsSchema.parse({
    port: values.port ?? env.PIXELBYTE_SIM_PORT,
    host: values.host ?? env.PIXELBYTE_SIM_HOST,
    apiKey: values['api-key'] ?? env.PIXELBYTE_SIM_API_KEY,
    balance: values.balance ?? env.PIXELBYTE_SIM_BALANCE_MICRO_CENTS,
    pendingMs: values['pending-ms'] ?? env.PIXELBYTE_SIM_PENDING_MS,
    processingMs: values['processing-ms'] ?? env.PIXELBYTE_SIM_PROCESSING_MS,
    manual: values.manual,
    outcome: values.outcome,
    concurrentJobs: values['concurrent-jobs'],
    envelope: values.envelope,
    stringNumbers: values['string-numbers'],
    webhookSecret: values['webhook-secret'] ?? env.PIXELBYTE_SIM_WEBHOOK_SECRET,
    allowHttpWebhooks: values['allow-http-webhooks'],
    noWebhooks: values['no-webhooks'],
    retryDelays: values['retry-delays'],
    quiet: values.quiet,
  });
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (err) {
    const message =
      err instanceof z.ZodError
        ? err.issues.map((i) => i.message).join('\n')
        : err instanceof Error
          ? err.message
          : String(err);
    console.error(`pixelbyte-sim: ${message}\nRun with --help for the options.`);
    process.exitCode = 2;
    return;
  }
  if (parsed === 'help') {
    console.log(HELP);
    return;
  }
  const o = parsed;
  const options: SimulatorOptions = {
    port: o.port,
    host: o.host,
    apiKey: o.apiKey,
    balanceMicroCents: o.balance,
    pendingMs: o.pendingMs,
    processingMs: o.processingMs,
    autoAdvance: !o.manual,
    outcome: o.outcome,
    concurrentJobsCap: o.concurrentJobs,
    envelope: o.envelope,
    stringNumbers: o.stringNumbers,
    webhooks: {
      enabled: !o.noWebhooks,
      secret: o.webhookSecret,
      allowHttp: o.allowHttpWebhooks,
      ...(o.retryDelays === undefined ? {} : { retryDelaysMs: o.retryDelays }),
    },
    ...(o.quiet ? {} : { log: (line: string) => console.log(`[pixelbyte-sim] ${line}`) }),
  };
  const sim = await startSimulator(options);
  console.log(
    [
      `Pixelbyte simulator listening on ${sim.url}`,
      `  PIXELBYTE_BASE_URL=${sim.url}`,
      `  PIXELBYTE_API_KEY=${sim.apiKey}`,
      `  PIXELBYTE_WEBHOOK_SECRET=${sim.webhookSecret}`,
      `  control API: ${sim.url}/__sim (e.g. curl ${sim.url}/__sim/state)`,
    ].join('\n'),
  );
  const stop = (signal: string) => {
    console.log(`[pixelbyte-sim] ${signal}: closing`);
    sim.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

await main();
