import { auditLog } from '@tollgate/db';
import { PG_BIGINT_MAX } from '@tollgate/db/ledger';
import { and, desc, eq, sql } from 'drizzle-orm';
import { DomainError } from '../../errors.ts';
import type { PrincipalCtx } from '../context.ts';
import { checkPeriodOrder } from '../period.ts';

export type AuditView = {
  id: string;
  /** Who acted: the `sub` of a JWT, an operator key's or API key's id (`opk_…`, `key_…`), or `system:…`. */
  actor: string;
  /** The key's name when the actor is a key (recorded when the row was written); null otherwise. */
  actorName: string | null;
  action: string;
  targetType: string;
  targetId: string;
  before: unknown;
  after: unknown;
  requestId: string | null;
  createdAt: string;
};

/** Admin actions newest first (cursor = the last row's id: audit ids only grow). */
export async function listAudit({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: {
    actor?: string | undefined;
    action?: string | undefined;
    targetType?: string | undefined;
    targetId?: string | undefined;
    from?: Date | undefined;
    to?: Date | undefined;
    cursor?: string | undefined;
    limit: number;
  };
}): Promise<{ items: AuditView[]; nextCursor: string | null }> {
  // As every report over [from, to): a reversed or empty period is a mistake, not an empty page.
  if (input.from !== undefined && input.to !== undefined) checkPeriodOrder(input.from, input.to);
  // An audit id: digits within Postgres' bigint (a larger number would fail the query).
  if (
    input.cursor !== undefined &&
    !(/^\d{1,19}$/.test(input.cursor) && BigInt(input.cursor) <= PG_BIGINT_MAX)
  ) {
    throw new DomainError({ reason: 'INVALID_CURSOR' });
  }
  const page = await ctx.deps.db
    .select()
    .from(auditLog)
    .where(
      and(
        input.actor === undefined ? undefined : eq(auditLog.actor, input.actor),
        input.action === undefined ? undefined : eq(auditLog.action, input.action),
        input.targetType === undefined ? undefined : eq(auditLog.targetType, input.targetType),
        input.targetId === undefined ? undefined : eq(auditLog.targetId, input.targetId),
        input.from === undefined
          ? undefined
          : sql`${auditLog.createdAt} >= ${input.from.toISOString()}::timestamptz`,
        input.to === undefined
          ? undefined
          : sql`${auditLog.createdAt} < ${input.to.toISOString()}::timestamptz`,
        input.cursor === undefined ? undefined : sql`${auditLog.id} < ${input.cursor}::bigint`,
      ),
    )
    .orderBy(desc(auditLog.id))
    .limit(input.limit + 1);
  const items = page.slice(0, input.limit);
  const last = items.at(-1);
  return {
    items: items.map((a) => ({
      id: a.id.toString(),
      actor: a.actor,
      actorName: a.actorName,
      action: a.action,
      targetType: a.targetType,
      targetId: a.targetId,
      before: a.before,
      after: a.after,
      requestId: a.requestId,
      createdAt: a.createdAt.toISOString(),
    })),
    nextCursor: page.length > input.limit && last ? last.id.toString() : null,
  };
}
