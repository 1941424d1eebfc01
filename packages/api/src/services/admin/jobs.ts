import {
  IN_FLIGHT_JOB_STATUS_LIST,
  IN_FLIGHT_JOB_STATUSES,
  type Job,
  type JobStatus,
  jobs,
} from '@tollgate/db';
import { resolveJob } from '@tollgate/db/ledger';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { MAX_SUBMIT_IN_FLIGHT_MS } from '../../env.ts';
import { DomainError } from '../../errors.ts';
import type { PrincipalCtx } from '../context.ts';
import { type JobView, toJobView, toWireAmount } from '../wire.ts';
import { cursorTime, decodeCursor, pageOf } from './cursor.ts';

/** What admins see of a job: the tenant view plus the money/upstream facts finance needs. */
export type AdminJobView = JobView & {
  listCostMicroCents: number;
  upstreamCostMicroCents: number | null;
  priceVersion: string;
  costMismatch: boolean;
  needsReview: boolean;
  /** An upstream id Pixelbyte named for this job that another job holds (not captured for it); else null. */
  collidedUpstreamJobId: string | null;
  /** When Pixelbyte answered our cancel `cancelled` (money moved only on a read of the job); else null. */
  cancelAnsweredAt: string | null;
  deadlineAt: string;
  overdue: boolean;
};

function toAdminView(job: Job, overdue: boolean): AdminJobView {
  return {
    ...toJobView(job),
    listCostMicroCents: toWireAmount(job.listCostMicroCents),
    upstreamCostMicroCents:
      job.upstreamCostMicroCents === null ? null : toWireAmount(job.upstreamCostMicroCents),
    priceVersion: job.priceVersion,
    costMismatch: job.costMismatch,
    needsReview: job.needsReview,
    collidedUpstreamJobId: job.collidedUpstreamJobId,
    cancelAnsweredAt: job.cancelAnsweredAt === null ? null : job.cancelAnsweredAt.toISOString(),
    deadlineAt: job.deadlineAt.toISOString(),
    overdue,
  };
}

/**
 * Jobs of every tenant, newest first. `stuck: true` = what needs a decision: `unknown` jobs, and
 * non-terminal jobs past their deadline (DB clock). `needsReview: true` = flagged for finance.
 */
export async function listJobsAsAdmin({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: {
    tenantId?: string | undefined;
    status?: JobStatus | undefined;
    model?: string | undefined;
    stuck?: boolean | undefined;
    needsReview?: boolean | undefined;
    cursor?: string | undefined;
    limit: number;
  };
}): Promise<{ items: AdminJobView[]; nextCursor: string | null }> {
  const cursor = decodeCursor(input.cursor);
  const overdue = sql<boolean>`(${jobs.status} IN (${IN_FLIGHT_JOB_STATUS_LIST}) AND ${jobs.deadlineAt} < now())`;
  const page = await ctx.deps.db
    .select({
      job: jobs,
      overdue,
      ts: cursorTime(jobs.createdAt),
    })
    .from(jobs)
    .where(
      and(
        input.tenantId === undefined ? undefined : eq(jobs.tenantId, input.tenantId),
        input.status === undefined ? undefined : eq(jobs.status, input.status),
        input.model === undefined ? undefined : eq(jobs.model, input.model),
        input.stuck === true
          ? and(
              inArray(jobs.status, [...IN_FLIGHT_JOB_STATUSES]),
              sql`(${jobs.status} = 'unknown' OR ${jobs.deadlineAt} < now())`,
            )
          : undefined,
        input.needsReview === undefined ? undefined : eq(jobs.needsReview, input.needsReview),
        cursor ? sql`(${jobs.createdAt}, ${jobs.id}) < (${cursor.ts}::timestamptz, ${cursor.id})` : undefined,
      ),
    )
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(input.limit + 1);
  const { page: items, nextCursor } = pageOf(page, input.limit, (r) => ({ ts: r.ts, id: r.job.id }));
  return { items: items.map((r) => toAdminView(r.job, r.overdue)), nextCursor };
}

/**
 * A job `submitting` may be in flight in another request: its upstream answer is about to be recorded
 * (capture or release). Resolving it first would let that answer contradict the decision — e.g.
 * `charge` then Pixelbyte refuses: the tenant pays for nothing (releaseJob leaves a completed job as
 * it is). So it is refused with PRECONDITION_FAILED / JOB_IN_FLIGHT until it is older than any submit
 * can last under any valid configuration (MAX_SUBMIT_IN_FLIGHT_MS: the 10 min submit-deadline
 * maximum + 2 s; DB clock). Normally the unknown-outcome resolver turns an orphaned `submitting` job
 * `unknown` sooner (STALE_SUBMITTING_AFTER), and `unknown` is resolvable. Checked before the ledger
 * transaction, which is sound: a job never goes back to `submitting` and its age only grows.
 */
async function refuseInFlightSubmit(ctx: PrincipalCtx, jobId: string): Promise<void> {
  const inFlightSeconds = Math.ceil(MAX_SUBMIT_IN_FLIGHT_MS / 1000);
  const [row] = await ctx.deps.db
    .select({
      status: jobs.status,
      waitSeconds: sql<number>`ceil(extract(epoch FROM ${jobs.createdAt} + make_interval(secs => ${inFlightSeconds}) - now()))::int`,
    })
    .from(jobs)
    .where(eq(jobs.id, jobId));
  if (row?.status !== 'submitting' || row.waitSeconds <= 0) return;
  throw new DomainError({
    reason: 'JOB_IN_FLIGHT',
    message: `job ${jobId} is still being submitted to Pixelbyte; its outcome will be recorded, or it turns unknown (STALE_SUBMITTING_AFTER) if its gateway died — resolve it then; nothing was written`,
    details: { status: row.status, retryAfterSeconds: row.waitSeconds },
  });
}

/**
 * Settles a stuck or `unknown` job by decision: `charge` (tenant pays the quote, job completed) or
 * `refund` (tenant pays nothing: hold released → rejected, or charge refunded once → failed).
 * Money, job and the audit row move in one transaction (ledger.resolveJob).
 */
export async function resolveJobAsAdmin({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: { jobId: string; decision: 'charge' | 'refund'; reason: string };
}): Promise<AdminJobView> {
  await refuseInFlightSubmit(ctx, input.jobId);
  const r = await resolveJob(ctx.deps.db, {
    jobId: input.jobId,
    decision: input.decision,
    reason: input.reason,
    actor: ctx.principal.sub,
    requestId: ctx.requestId,
  });
  ctx.deps.metrics.recordMoneyMovement({ op: 'resolveJob', result: r });
  if (!r.ok) {
    switch (r.reason) {
      case 'JOB_NOT_FOUND':
        throw new DomainError({
          reason: 'JOB_NOT_FOUND',
          message: `job ${input.jobId} not found`,
        });
      case 'JOB_ALREADY_SETTLED':
        throw new DomainError({
          reason: 'JOB_ALREADY_SETTLED',
          message: `job ${input.jobId} is already ${r.status}; its money is settled and never moves twice`,
          details: { status: r.status },
        });
      default: {
        const never: never = r;
        throw new Error(`unhandled resolve refusal ${JSON.stringify(never)}`);
      }
    }
  }
  return toAdminView(r.job, false);
}
