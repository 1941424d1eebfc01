// `@tollgate/db/testing`: the DB test harness. Needs `@tollgate/db/testing/global-setup` in the
// vitest config's globalSetup (one server per run); each test file then makes its own database.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { createDb, type Db, migrate, type Sql } from '../client';
import { captureJob } from '../ledger/capture';
import { topUp } from '../ledger/credits';
import { openJob } from '../ledger/open';
import { createTenant, setTenantStatus, type TenantLimits } from '../ledger/tenants';
import type { Job, Tenant, TenantStatus } from '../schema';
import './provided-context';

export interface TestDatabase {
  db: Db;
  sql: Sql;
  url: string;
  name: string;
  /** Closes the pool and drops the database. */
  close(): Promise<void>;
}

function adminUrl(): string {
  const url = inject('tollgateDbAdminUrl');
  if (!url) {
    throw new Error(
      "No test database server: add '@tollgate/db/testing/global-setup' to `globalSetup` in this package's vitest config.",
    );
  }
  return url;
}

/**
 * A fresh database on the run's server (CREATE DATABASE with a unique name), migrated by the real
 * migrator. Call once per test file (beforeAll) and `close()` it in afterAll.
 */
export async function createTestDatabase(opts: { max?: number } = {}): Promise<TestDatabase> {
  const admin = adminUrl();
  const name = `tollgate_test_${inject('tollgateDbRunId')}_${randomBytes(5).toString('hex')}`;
  const adminSql = postgres(admin, { max: 1, onnotice: () => {} });
  try {
    await adminSql`CREATE DATABASE ${adminSql(name)}`;
  } finally {
    await adminSql.end({ timeout: 5 });
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  const { db, sql, close } = createDb(url.toString(), { max: opts.max ?? 5 });
  return {
    db,
    sql,
    url: url.toString(),
    name,
    close: async () => {
      await close();
      const dropSql = postgres(admin, { max: 1, onnotice: () => {} });
      try {
        await dropSql`DROP DATABASE IF EXISTS ${dropSql(name)} WITH (FORCE)`;
      } finally {
        await dropSql.end({ timeout: 5 });
      }
    },
  };
}

let tenantCounter = 0;

export interface TestTenantOptions {
  name?: string;
  /** Credited through a real top-up, so the ledger backs the balance. Default 0. */
  availableMicroCents?: bigint;
  markupBps?: number;
  limits?: Partial<TenantLimits>;
  webhookUrl?: string;
  status?: TenantStatus;
}

/** Inserts a uniquely named tenant, optionally funded (via `topUp`) and suspended. */
export async function createTestTenant(db: Db, opts: TestTenantOptions = {}): Promise<Tenant> {
  tenantCounter += 1;
  const tenant = await createTenant(db, {
    name: opts.name ?? `test-tenant-${tenantCounter}-${randomBytes(3).toString('hex')}`,
    ...(opts.markupBps !== undefined ? { markupBps: opts.markupBps } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.webhookUrl ? { webhookUrl: opts.webhookUrl } : {}),
    actor: 'test:factory',
  });
  if (opts.availableMicroCents && opts.availableMicroCents > 0n) {
    const result = await topUp(db, {
      tenantId: tenant.id,
      amountMicroCents: opts.availableMicroCents,
      idempotencyKey: `factory-${tenant.id}`,
      reference: 'test factory',
      actor: 'test:factory',
    });
    if (!result.ok) throw new Error(`test factory top-up failed: ${result.reason}`);
  }
  if (opts.status && opts.status !== 'active') {
    const result = await setTenantStatus(db, {
      tenantId: tenant.id,
      status: opts.status,
      actor: 'test:factory',
    });
    if (!result.ok) throw new Error(`test factory status change failed: ${result.reason}`);
    return result.tenant;
  }
  return tenant;
}

export interface TestJobOptions {
  tenantId: string;
  quoteMicroCents?: bigint;
  listCostMicroCents?: bigint;
  model?: string;
  idempotencyKey?: string;
  fingerprint?: string;
  tags?: string[];
  maxDurationSeconds?: number;
}

/** Opens a job (hold taken, status `submitting`) through the real `openJob`; throws if refused. */
export async function openTestJob(db: Db, opts: TestJobOptions): Promise<Job> {
  const result = await openJob(db, {
    tenantId: opts.tenantId,
    model: opts.model ?? 'google/nano-banana',
    input: { prompt: 'a test' },
    quoteMicroCents: opts.quoteMicroCents ?? 40_000n,
    listCostMicroCents: opts.listCostMicroCents ?? opts.quoteMicroCents ?? 40_000n,
    priceVersion: 'test',
    fingerprint: opts.fingerprint ?? 'fp-test',
    tags: opts.tags ?? [],
    ...(opts.idempotencyKey === undefined ? {} : { idempotencyKey: opts.idempotencyKey }),
    ...(opts.maxDurationSeconds === undefined ? {} : { maxDurationSeconds: opts.maxDurationSeconds }),
  });
  if (!result.ok) throw new Error(`openTestJob refused: ${result.reason}`);
  return result.job;
}

/**
 * A job upstream accepted: opened (`openTestJob`), then captured through the real `captureJob` with
 * an upstream id of its own and an upstream cost of 40,000 micro-cents; `pending`, due for its first
 * poll. Throws unless this call captured the hold.
 */
export async function acceptTestJob(db: Db, opts: TestJobOptions): Promise<Job> {
  const opened = await openTestJob(db, opts);
  const result = await captureJob(db, {
    jobId: opened.id,
    upstreamJobId: `up_test_${opened.id}`,
    upstreamCostMicroCents: 40_000n,
    estimatedCompletionTime: null,
  });
  if (!result.captured)
    throw new Error(`acceptTestJob: job ${opened.id} was not captured (${result.job.status})`);
  return result.job;
}
