import { z } from 'zod';
import { createTenantAsAdmin, issueTenantToken } from '../../services/admin/tenants.ts';
import { idSchema, wireAmount } from '../../services/wire.ts';
import { adminProcedure, router } from '../../trpc.ts';

export const limitsInput = z.strictObject({
  maxConcurrentJobs: z.number().int().min(0).max(1_000_000).nullable().optional(),
  dailySpendLimitMicroCents: wireAmount.nullable().optional(),
  requestsPerMinute: z.number().int().min(0).max(1_000_000).nullable().optional(),
});

export const tenantsRouter = router({
  create: adminProcedure
    .input(
      z.strictObject({
        name: z.string().trim().min(1).max(200),
        markupBps: z.number().int().min(0).max(1_000_000).optional(),
        limits: limitsInput.optional(),
        webhookUrl: z
          .url({ protocol: /^https$/ })
          .max(2048)
          .optional(),
      }),
    )
    .mutation(({ ctx, input }) => createTenantAsAdmin({ ctx, input })),
  issueToken: adminProcedure
    .input(
      z.strictObject({
        tenantId: idSchema('ten'),
        /** Token lifetime; default 90 days, at most 1 year. */
        ttlSeconds: z
          .number()
          .int()
          .min(60)
          .max(366 * 86_400)
          .optional(),
        /** The principal recorded as actor for this token; default `tenant:<id>`. */
        sub: z.string().min(1).max(200).optional(),
      }),
    )
    .mutation(({ ctx, input }) => issueTenantToken({ ctx, input })),
});
