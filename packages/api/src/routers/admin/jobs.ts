import { jobStatus } from '@tollgate/db';
import { z } from 'zod';
import { listJobsAsAdmin, resolveJobAsAdmin } from '../../services/admin/jobs.ts';
import { cursorSchema, idSchema, limitSchema } from '../../services/wire.ts';
import { adminProcedure, router } from '../../trpc.ts';

export const adminJobsRouter = router({
  list: adminProcedure
    .input(
      z
        .strictObject({
          tenantId: idSchema('ten').optional(),
          status: z.enum(jobStatus.enumValues).optional(),
          model: z.string().min(1).max(200).optional(),
          /** Only jobs needing a decision: `unknown`, or non-terminal past their deadline. */
          stuck: z.boolean().optional(),
          needsReview: z.boolean().optional(),
          cursor: cursorSchema.optional(),
          limit: limitSchema,
        })
        .default({ limit: 20 }),
    )
    .query(({ ctx, input }) => listJobsAsAdmin({ ctx, input })),
  resolve: adminProcedure
    .input(
      z.strictObject({
        jobId: idSchema('job'),
        decision: z.enum(['charge', 'refund']),
        reason: z.string().min(1).max(500),
      }),
    )
    .mutation(({ ctx, input }) => resolveJobAsAdmin({ ctx, input })),
});
