import { bookTenantId, inBook, type Mode, publicTenantIdSql } from '@tollgate/db';
import type { Db } from '@tollgate/db/client';
import { type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Hono } from 'hono';
import { z } from 'zod';
import type { Principal } from '../auth/jwt.ts';
import { authenticateHeader, FINANCE_ROLE, requireRole } from '../auth/roles.ts';
import type { AppDeps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import {
  checkUsagePeriod,
  USAGE_DIMENSIONS,
  USAGE_MARGIN,
  USAGE_MODES,
  USAGE_NET,
  type UsageDimension,
  type UsageMode,
  usageQuery,
} from '../services/finance/usage.ts';
import { checkPeriodOrder } from '../services/period.ts';
import { idSchema, isStorableInstant, STORABLE_INSTANT_MESSAGE } from '../services/wire.ts';
import { CrlfRecords, CSV_BLANK_CLASS, csvRecord } from './csv.ts';

const dialect = new PgDialect();
/** Rows of a CSV report sent to the client as one chunk (one socket write) at most. */
const CSV_BATCH_BYTES = 64 * 1024;
const encoder = new TextEncoder();

/**
 * The caller of a CSV route: finance or admin (operator key or JWT), from the Authorization header,
 * authenticated and refused exactly as the `finance.*` procedures are (auth/roles.ts).
 */
async function requireFinance(deps: AppDeps, header: string | undefined): Promise<Principal> {
  return requireRole(deps.auth, await authenticateHeader(deps.auth, header), FINANCE_ROLE);
}

/** `2025-01-01` (a UTC day) or an ISO 8601 time with offset. */
const instant = z
  .string()
  .refine(
    (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) || z.iso.datetime({ offset: true }).safeParse(s).success,
    'must be a date (2025-01-01) or an ISO 8601 time',
  )
  .transform((s) => new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s))
  .refine((d) => !Number.isNaN(d.getTime()), 'not a valid date')
  .refine(isStorableInstant, STORABLE_INSTANT_MESSAGE);

const usageQuerySchema = z.strictObject({
  from: instant,
  to: instant,
  groupBy: z
    .string()
    .default('tenant,model,day')
    .transform((s) =>
      s
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p.length > 0),
    )
    .pipe(z.array(z.enum(USAGE_DIMENSIONS)).max(4)),
  mode: z.enum(USAGE_MODES).default('live'),
});

const ledgerQuerySchema = z.strictObject({
  from: instant,
  to: instant,
  tenantId: idSchema('ten').optional(),
  /** `test`: test mode's book; default live money. */
  mode: z.enum(['live', 'test']).default('live'),
});

function parseQuery<T extends z.ZodType>(schema: T, query: Record<string, string>): z.output<T> {
  const r = schema.safeParse(query);
  if (!r.success) {
    throw new DomainError({
      reason: 'INVALID_INPUT',
      message: `Invalid query: ${r.error.issues.map((i) => `${i.path.join('.') || '(query)'}: ${i.message}`).join('; ')}`,
    });
  }
  return r.data;
}

const day = (d: Date) => d.toISOString().slice(0, 10);

function csvResponse(body: ReadableStream<Uint8Array>, filename: string, requestId: string): Response {
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${filename}"`,
      'cache-control': 'no-store',
      'x-request-id': requestId,
    },
  });
}

/** A SQL string literal (COPY takes no bind parameters; standard_conforming_strings is on). */
const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * `formatUsd` in SQL, to the byte: `-` when negative, whole dollars, then the 6 decimals with
 * trailing zeros dropped down to 2 (`1.50`, `0.000001`, `-12.345`). NULL stays NULL (empty field).
 */
export function usdSql(column: string): string {
  // × 0.000001 is exact in numeric (the product's scale is 6). A value whose last four digits are
  // zero has at most 2 decimals: round(…, 2) writes exactly 2 (it only pads). Any other keeps 3 to 6,
  // and trim_scale drops the trailing zeros. The test on the integer spares a numeric trim_scale and
  // scale per cell: 0.37 → 0.23 µs a cell on PG 15 (psql, 400k values, the same strings as before);
  // building the string from div/mod/lpad was about three times slower.
  const v = `((${column})::numeric * 0.000001)`;
  return `CASE WHEN (${column}) % 10000 = 0 THEN round(${v}, 2)::text ELSE trim_scale(${v})::text END`;
}

/**
 * `csvText` in SQL: the formula-injection guard for a free-text column, and '' as NULL (both are an
 * empty field in our CSV, but COPY would write an empty string as `""`).
 */
export function csvTextSql(column: string): string {
  // The same pattern as csvText's (Postgres ARE reads the \t and \uXXXX escapes the same way).
  return `NULLIF(CASE WHEN ${column} ~ '^[${CSV_BLANK_CLASS}]*[=+@\\t\\r-]' THEN '''' || ${column} ELSE ${column} END, '')`;
}

/**
 * Streams `COPY (<select>) TO STDOUT (FORMAT csv)`: Postgres formats every row (values, quoting,
 * USD strings), Node only turns its LF record ends into CRLF and passes the bytes on. The COPY
 * starts before answering, so a query Postgres refuses still gets a proper JSON error status.
 * Backpressure end to end: the web stream pulls from postgres.js's readable, which pauses the
 * socket when its buffer is full, which stops Postgres. A failure after the first byte is logged
 * and aborts the stream (a failed download, never a silently short file). When the client goes
 * away the COPY is cancelled and the rest drained, so the connection goes back to the pool.
 */
async function copyCsvStream(opts: {
  db: Db;
  select: string;
  header: readonly string[];
  log: Logger;
}): Promise<ReadableStream<Uint8Array>> {
  const query = opts.db.$client.unsafe(`COPY (${opts.select}) TO STDOUT WITH (FORMAT csv)`);
  const readable = (await query.readable()) as unknown as AsyncIterable<Uint8Array> & { _read?: () => void };
  const iterator = readable[Symbol.asyncIterator]();
  // postgres.js 3.4.9 bug (porsager/postgres#499, fix proposed in PR #1016): when a CopyData hits
  // the stream's high-water mark it pauses the socket, and if CopyDone (or the error ending the
  // COPY) is handled before the reader drains, nothing resumes it: the connection's last messages
  // (CommandComplete, ReadyForQuery) are never read and the pooled connection hangs forever. The
  // stream's `_read` is postgres.js's own `socket.resume()`: call it once the COPY is over.
  const release = () => readable._read?.();
  const crlf = new CrlfRecords();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(csvRecord(opts.header)));
    },
    async pull(controller) {
      try {
        // Postgres sends each COPY row as a message of its own, and postgres.js yields each as a
        // chunk: enqueued one by one, every row was its own write to the client's socket (~19,000
        // for a year of usage). Up to CSV_BATCH_BYTES of rows go as one chunk instead.
        const rows: Uint8Array[] = [];
        let size = 0;
        let done = false;
        while (size < CSV_BATCH_BYTES) {
          const next = await iterator.next();
          if (next.done) {
            done = true;
            break;
          }
          rows.push(next.value);
          size += next.value.length;
        }
        if (size > 0)
          controller.enqueue(
            crlf.push(rows.length === 1 ? (rows[0] as Uint8Array) : Buffer.concat(rows, size)),
          );
        if (done) {
          controller.close();
          release();
        }
      } catch (err) {
        release();
        opts.log.error({ err }, 'CSV report failed while streaming');
        controller.error(err);
      }
    },
    async cancel() {
      // The client went away: cancel the COPY, then read what is still in flight until Postgres
      // reports the cancellation, so the connection is free again.
      query.cancel();
      try {
        for (let n = await iterator.next(); !n.done; n = await iterator.next()) {}
      } catch {
        // the expected 57014 query_canceled
      }
      release();
    },
  });
}

/**
 * The ledger CSV as one SELECT whose columns are `LEDGER_CSV_COLUMNS`, values already formatted:
 * ids as text, times as UTC ISO with microseconds, USD via `usdSql`, free text (reference, reason,
 * actor) through the formula-injection guard. Period bounds come from validated Dates and the
 * tenant id from `idSchema` (letters, digits, `_`, `-`), and are quoted as literals anyway.
 */
export function ledgerCsvSelect(q: {
  from: Date;
  to: Date;
  tenantId?: string | undefined;
  mode?: Mode | undefined;
}): string {
  const mode = q.mode ?? 'live';
  return `
    SELECT l.id, to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           l.transaction_id, t.kind, l.account, ${PUBLIC_TENANT_ID_SQL('l.tenant_id')}, t.job_id, t.hold_id,
           l.amount_micro_cents, ${usdSql('l.amount_micro_cents')},
           l.balance_after_micro_cents, ${usdSql('l.balance_after_micro_cents')},
           ${csvTextSql('t.reference')}, ${csvTextSql('t.reason')}, ${csvTextSql('t.actor')}
      FROM ledger_lines l JOIN ledger_transactions t ON t.id = l.transaction_id
     WHERE l.created_at >= ${literal(q.from.toISOString())}::timestamptz
       AND l.created_at < ${literal(q.to.toISOString())}::timestamptz
       AND ${inlined(inBook(sql.raw('t.tenant_id'), mode))}
       ${q.tenantId === undefined ? '' : `AND l.tenant_id = ${literal(bookTenantId(q.tenantId, mode))}`}
     ORDER BY l.created_at, l.id`;
}

/** SQL text of a fragment, its parameters inlined as literals (COPY takes no bind parameters). */
const inlined = (fragment: SQL): string => dialect.sqlToQuery(fragment.inlineParams()).sql;

/** SQL: the tenant id a person knows (a sandbox twin's `tst_x` shows as `ten_x`; the file is one book). */
const PUBLIC_TENANT_ID_SQL = (col: string) => inlined(publicTenantIdSql(sql.raw(col)));

export const LEDGER_CSV_COLUMNS = [
  'line_id',
  'created_at',
  'transaction_id',
  'kind',
  'account',
  'tenant_id',
  'job_id',
  'hold_id',
  'amount_micro_cents',
  'amount_usd',
  'balance_after_micro_cents',
  'balance_after_usd',
  'reference',
  'reason',
  'actor',
] as const;

export const USAGE_CSV_METRICS = [
  'jobs',
  'completed_jobs',
  'failed_jobs',
  'cancelled_jobs',
  'rejected_jobs',
  'in_flight_jobs',
  'charged_micro_cents',
  'charged_usd',
  'refunded_micro_cents',
  'refunded_usd',
  'net_micro_cents',
  'net_usd',
  'upstream_cost_micro_cents',
  'upstream_cost_usd',
  'margin_micro_cents',
  'margin_usd',
  'upstream_cost_unknown_jobs',
  'upstream_cost_unknown_charged_micro_cents',
  'upstream_cost_unknown_charged_usd',
] as const;

/** The header columns of each dimension: a tenant's name rides beside its id. */
const DIMENSION_HEADER: Record<UsageDimension, readonly string[]> = {
  tenant: ['tenant_id', 'tenant_name'],
  model: ['model'],
  day: ['day'],
  tag: ['tag'],
};

/** The usage CSV's header for a grouping: its dimensions' columns, then USAGE_CSV_METRICS. */
export function usageCsvHeader(groupBy: readonly UsageDimension[]): string[] {
  const dims = USAGE_DIMENSIONS.filter((d) => groupBy.includes(d));
  return [...dims.flatMap((d) => DIMENSION_HEADER[d]), ...USAGE_CSV_METRICS];
}

/**
 * The usage CSV as one SELECT over the daily roll-up: `finance.usage`'s query (usageQuery, its few
 * parameters inlined as literals: COPY takes no bind parameters; they are validated dates, a mode
 * from an enum and nothing else) with the cells formatted in the SELECT that orders the rows (so
 * Postgres never sorts formatted rows), columns in `usageCsvHeader` order: text through the
 * formula-injection guard, USD via usdSql.
 */
export function usageCsvSelect(q: {
  from: Date;
  to: Date;
  groupBy: readonly UsageDimension[];
  mode: UsageMode;
}): string {
  const cells = (dims: readonly UsageDimension[]) => {
    const dimColumns: Record<UsageDimension, string[]> = {
      tenant: [csvTextSql(PUBLIC_TENANT_ID_SQL('g.tenant_id')), csvTextSql('tn.name')],
      model: [csvTextSql("nullif(g.model, '')")],
      day: ["to_char(g.day, 'YYYY-MM-DD')"],
      tag: [csvTextSql("nullif(g.tag, '')")],
    };
    // Every metric column of the header, in its order: a count or amount of `g`, or an amount in USD.
    const amount = (metric: string) => {
      const base = metric.replace(/_usd$/, '_micro_cents');
      if (base === 'net_micro_cents') return USAGE_NET;
      if (base === 'margin_micro_cents') return USAGE_MARGIN;
      return `g.${base}`;
    };
    return [
      ...dims.flatMap((d) => dimColumns[d]),
      ...USAGE_CSV_METRICS.map((m) => (m.endsWith('_usd') ? usdSql(amount(m)) : amount(m))),
    ].join(', ');
  };
  const dims = USAGE_DIMENSIONS.filter((d) => q.groupBy.includes(d));
  return dialect.sqlToQuery(usageQuery({ ...q, groupBy: dims, select: cells }).inlineParams()).sql;
}

/** Mounts `GET /reports/usage.csv` and `GET /reports/ledger.csv` (finance or admin JWT). */
export function registerReportRoutes(
  app: Hono<{ Variables: { requestId: string; log: Logger } }>,
  deps: AppDeps,
): void {
  app.get('/reports/ledger.csv', async (c) => {
    await requireFinance(deps, c.req.header('authorization'));
    deps.dbBreaker.guard();
    const q = parseQuery(ledgerQuerySchema, c.req.query());
    checkPeriodOrder(q.from, q.to);
    const body = await copyCsvStream({
      db: deps.reportsDb,
      select: ledgerCsvSelect(q),
      header: LEDGER_CSV_COLUMNS,
      log: c.get('log'),
    });
    const scope = `${q.tenantId === undefined ? '' : `-${q.tenantId}`}${q.mode === 'test' ? '-test' : ''}`;
    return csvResponse(body, `ledger${scope}-${day(q.from)}-to-${day(q.to)}.csv`, c.get('requestId'));
  });

  app.get('/reports/usage.csv', async (c) => {
    await requireFinance(deps, c.req.header('authorization'));
    deps.dbBreaker.guard();
    const q = parseQuery(usageQuerySchema, c.req.query());
    checkUsagePeriod(q.from, q.to);
    const dims = USAGE_DIMENSIONS.filter((d) => q.groupBy.includes(d));
    const body = await copyCsvStream({
      db: deps.reportsDb,
      select: usageCsvSelect({ from: q.from, to: q.to, groupBy: dims, mode: q.mode }),
      header: usageCsvHeader(dims),
      log: c.get('log'),
    });
    const groups = dims.length === 0 ? 'total' : dims.join('-');
    const book = q.mode === 'live' ? '' : `-${q.mode}`;
    return csvResponse(body, `usage${book}-${groups}-${day(q.from)}-to-${day(q.to)}.csv`, c.get('requestId'));
  });
}
