// `pnpm start`: env → embedded Postgres? → migrate → simulator? → app → listen → workers; signals.
import { createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb, migrate } from '@tollgate/db/client';
import { EmbeddedPostgresError, startEmbeddedPostgres } from '@tollgate/db/embedded';
import { createPixelbyteClient } from '@tollgate/pixelbyte';
import { createJwtVerifier, signToken } from './auth/jwt.ts';
import { withConnectTimeout } from './db-url.ts';
import { loadDevJwtSecret } from './dev-secret.ts';
import { type AppConfig, EnvError, loadEnv } from './env.ts';
import { configureFailpoints } from './failpoints.ts';
import { buildDeps, startGateway } from './gateway.ts';
import { createLogger } from './logger.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

type Cleanup = { name: string; run: () => Promise<void> };

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadEnv();
  } catch (err) {
    if (err instanceof EnvError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  configureFailpoints(config.failpoint);
  const log = createLogger({ level: config.logLevel });
  const cleanups: Cleanup[] = [];
  let shuttingDown = false;

  const shutdown = async (signal: string, code = 0) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5_000);
    force.unref();
    for (const c of cleanups.reverse()) {
      try {
        await c.run();
        log.info(`stopped ${c.name}`);
      } catch (err) {
        log.error({ err }, `failed to stop ${c.name}`);
      }
    }
    log.info('bye');
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    // 1. Database: the configured one, or an embedded Postgres persisted under .data/postgres.
    const dataRoot = config.dataDir ?? join(REPO_ROOT, '.data');
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const dataDir = join(dataRoot, 'postgres');
      log.warn({ dataDir }, 'DATABASE_URL is unset: starting an embedded Postgres (dev mode)');
      const pg = await startEmbeddedPostgres({
        dataDir,
        persistent: true,
        log: (line) => log.debug({ pg: line }),
        notice: (line) => log.warn(`embedded Postgres: ${line}`),
      });
      cleanups.push({ name: 'embedded postgres', run: () => pg.stop() });
      databaseUrl = pg.url;
    }
    databaseUrl = withConnectTimeout(databaseUrl, config.dbConnectTimeoutMs);
    await migrate(databaseUrl);
    log.info('migrations applied');
    const { db, close: closeDb } = createDb(databaseUrl, { max: config.dbPoolMax });
    cleanups.push({ name: 'database pool', run: closeDb });
    // Finance reports from a read replica when configured (never migrated: replication brings the
    // schema; a replica is read-only). Its own small pool: a long CSV never takes a money connection.
    let reportsDb = db;
    if (config.reportsDatabaseUrl) {
      const reports = createDb(withConnectTimeout(config.reportsDatabaseUrl, config.dbConnectTimeoutMs), {
        max: Math.max(2, Math.ceil(config.dbPoolMax / 4)),
      });
      cleanups.push({ name: 'reports database pool', run: reports.close });
      reportsDb = reports.db;
      log.info('finance reports read REPORTS_DATABASE_URL');
    }

    // 2. Pixelbyte: the real API, or the built-in simulator when no key is configured.
    let publicBaseUrl = config.publicBaseUrl;
    let pixelbyteBaseUrl = config.pixelbyte.baseUrl;
    let pixelbyteKey = config.pixelbyte.apiKey;
    let webhookSecret = config.pixelbyte.webhookSecret;
    if (!pixelbyteKey) {
      const { startSimulator } = await import('@tollgate/pixelbyte/simulator');
      const sim = await startSimulator({
        // Pending long enough to try `tollgate jobs cancel` by hand (a CLI call takes ~2-3 s to start).
        pendingMs: 10_000,
        processingMs: 3_000,
        webhooks: { allowHttp: true },
        log: (line) => log.debug({ simulator: line }),
      });
      cleanups.push({ name: 'pixelbyte simulator', run: () => sim.close() });
      pixelbyteBaseUrl = sim.url;
      pixelbyteKey = sim.apiKey;
      webhookSecret = 'whsec_test';
      // Local webhooks so dev mode exercises the whole lifecycle (the simulator accepts http here).
      publicBaseUrl ??= `http://127.0.0.1:${config.port}`;
      log.warn(
        { simulatorUrl: sim.url },
        '!!! PIXELBYTE_API_KEY is unset: using the BUILT-IN PIXELBYTE SIMULATOR. No real jobs are created. !!!',
      );
    }
    const pixelbyte = createPixelbyteClient({
      baseUrl: pixelbyteBaseUrl,
      apiKey: pixelbyteKey,
      timeoutMs: config.pixelbyte.timeoutMs,
      submitTimeoutMs: config.pixelbyte.submitTimeoutMs,
    });
    cleanups.push({ name: 'pixelbyte client', run: () => pixelbyte.close() });

    // 3. Auth: configured keys, or (dev only) a secret kept in .data/ so dev tokens survive restarts.
    let jwtSecret = config.jwt.secret;
    let devSecretFile: string | null = null;
    if (!jwtSecret && !config.jwt.jwksUrl) {
      const dev = await loadDevJwtSecret(dataRoot);
      devSecretFile = dev.file;
      jwtSecret = dev.secret;
      log.warn(
        { file: dev.file, created: dev.created },
        dev.created
          ? 'dev mode: no JWT_SECRET/JWT_JWKS_URL, generated a JWT secret and kept it (mode 0600) for later boots'
          : 'dev mode: no JWT_SECRET/JWT_JWKS_URL, using the JWT secret kept from an earlier boot',
      );
      if (dev.tightened)
        log.warn({ file: dev.file }, 'the dev JWT secret was readable by other users: made it 0600');
    }
    const auth = createJwtVerifier({
      secret: jwtSecret,
      jwksUrl: config.jwt.jwksUrl,
      jwksCacheMaxAgeMs: config.jwt.jwksCacheMaxAgeMs,
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
    });
    const webhookTokenSecret =
      config.webhookTokenSecret ??
      (jwtSecret
        ? createHmac('sha256', jwtSecret).update('tollgate webhook-token key').digest('base64url')
        : randomBytes(32).toString('base64url'));

    const deps = buildDeps({
      config: {
        publicBaseUrl,
        webhookTokenSecret,
        pixelbyteWebhookSecret: webhookSecret,
        jwt: { issuer: config.jwt.issuer, audience: config.jwt.audience, signingSecret: jwtSecret },
        unknownJobGraceMs: config.unknownJobGraceMs,
        bodyLimitBytes: config.bodyLimitBytes,
        metricsToken: config.metricsToken,
        allowHttpWebhooks: config.tenantWebhooks.allowHttp,
        allowPrivateWebhooks: config.tenantWebhooks.allowPrivate,
        webhookSecretGraceMs: config.tenantWebhooks.secretGraceMs,
        limitReachedWebhookIntervalMs: config.tenantWebhooks.limitReachedIntervalMs,
      },
      db,
      reportsDb,
      pixelbyte,
      auth,
      log,
    });
    const gateway = await startGateway({
      deps,
      port: config.port,
      host: config.host,
      http: config.http,
      workers: {
        poll: config.poll,
        unknownResolverIntervalMs: Math.max(
          1_000,
          Math.min(60_000, Math.floor(config.unknownJobGraceMs / 10)),
        ),
        staleSubmittingMs: config.staleSubmittingMs,
        tenantWebhooks: {
          intervalMs: config.tenantWebhooks.intervalMs,
          timeoutMs: config.tenantWebhooks.timeoutMs,
          retryBaseMs: config.tenantWebhooks.retryBaseMs,
          maxAttempts: config.tenantWebhooks.maxAttempts,
        },
        autoStart: config.workersEnabled,
      },
    });
    cleanups.push({
      name: 'http server and workers',
      run: () => gateway.close({ timeoutMs: config.shutdownTimeoutMs }),
    });
    log.info({ url: gateway.url, publicBaseUrl: publicBaseUrl ?? null }, 'tollgate is listening');
    if (devSecretFile && jwtSecret) await printDevHelp(gateway.url, jwtSecret, config, devSecretFile);
  } catch (err) {
    if (err instanceof EmbeddedPostgresError) {
      // Something the developer must fix, already said in one sentence (why, and what to do).
      log.fatal(`boot failed: ${err.message}`);
      process.stderr.write(`\n${err.message}\n\n`);
    } else log.fatal({ err }, 'boot failed');
    await shutdown('boot-failure', 1);
  }
}

/** Dev mode only: a ready-to-paste admin token signed with the dev secret kept in .data/. */
async function printDevHelp(
  url: string,
  secret: string,
  config: AppConfig,
  secretFile: string,
): Promise<void> {
  const { token } = await signToken({
    secret,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    principal: { role: 'admin', sub: 'dev-admin' },
    expiresInSeconds: 12 * 3600,
  });
  process.stdout.write(
    [
      '',
      `tollgate (dev mode) on ${url}`,
      '',
      `Admin token (valid 12 h, also after a restart; delete ${secretFile} to revoke every dev token):`,
      `  export TOLLGATE_ADMIN_TOKEN=${token}`,
      '',
      `Operator console: ${url}/console (paste the admin token into "API key or token")`,
      '',
      'Try it with the CLI (in another terminal, from the repo root):',
      `  export TOLLGATE_URL=${url} TOLLGATE_TOKEN=${token}`,
      '  pnpm -s tollgate tenants create "Acme Video"',
      '  pnpm -s tollgate credits topup <ten_…> 12.50 --reference INV-1',
      "  export TOLLGATE_TOKEN=$(pnpm -s tollgate keys create backend --tenant <ten_…>)   # the tenant's API key",
      '  pnpm -s tollgate jobs submit google/nano-banana-dev/text-to-image --param prompt="a red fox" --wait',
      '  (README.md, "Your first job in two minutes", shows what each one prints)',
      '',
      'or with curl:',
      `  curl -s ${url}/healthz`,
      `  curl -s -X POST ${url}/trpc/admin.tenants.create -H "authorization: Bearer $TOLLGATE_ADMIN_TOKEN" \\`,
      `       -H 'content-type: application/json' -d '{"name":"acme"}'`,
      '',
    ].join('\n'),
  );
}

void main();
