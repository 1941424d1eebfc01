import { MAX_MARKUP_BPS } from '@tollgate/pricing';
import { z } from 'zod';
import {
  createTenantAsAdmin,
  getTenantAsAdmin,
  issueTenantToken,
  listTenantsAsAdmin,
  rotateWebhookSecretAsAdmin,
  setTenantStatusAsAdmin,
  updateTenantAsAdmin,
} from '../../services/admin/tenants.ts';
import { webhookUrlProblem } from '../../services/webhook-url.ts';
import { cursorSchema, idSchema, limitSchema, wireAmount } from '../../services/wire.ts';
import { adminProcedure, router } from '../../trpc.ts';

export const limitsInput = z.strictObject({
  maxConcurrentJobs: z.number().int().min(0).max(1_000_000).nullable().optional(),
  dailySpendLimitMicroCents: wireAmount.nullable().optional(),
  requestsPerMinute: z.number().int().min(0).max(1_000_000).nullable().optional(),
});

/** https, no credentials, no private/loopback/link-local IP literal or localhost (SSRF; dev flags do not apply here). */
const webhookUrl = z
  .url({ protocol: /^https$/ })
  .max(2048)
  .superRefine((u, ctx) => {
    const problem = webhookUrlProblem(u, { allowHttp: false, allowPrivate: false });
    if (problem !== null) ctx.addIssue({ code: 'custom', message: `webhook URL ${problem}` });
  });

const tenantId = idSchema('ten');

const statusChange = z.strictObject({
  tenantId,
  /** Why (recorded in the audit row). */
  reason: z.string().min(1).max(500).optional(),
});

export const tenantsRouter = router({
  list: adminProcedure
    .input(
      z
        .strictObject({
          status: z.enum(['active', 'suspended']).optional(),
          /** Case-insensitive substring of the name. */
          name: z.string().min(1).max(200).optional(),
          minAvailableMicroCents: wireAmount.optional(),
          maxAvailableMicroCents: wireAmount.optional(),
          cursor: cursorSchema.optional(),
          limit: limitSchema,
        })
        .default({ limit: 20 }),
    )
    .query(({ ctx, input }) => listTenantsAsAdmin({ ctx, input })),
  get: adminProcedure
    .input(z.strictObject({ tenantId }))
    .query(({ ctx, input }) => getTenantAsAdmin({ ctx, input })),
  /**
   * New webhook signing secret for the tenant, returned once here (and by `get`). The old one keeps
   * signing beside it for `graceSeconds` (default TENANT_WEBHOOK_SECRET_GRACE; 0 = stop at once). Audited.
   */
  rotateWebhookSecret: adminProcedure
    .input(
      z.strictObject({
        tenantId,
        graceSeconds: z
          .number()
          .int()
          .min(0)
          .max(7 * 86_400)
          .optional(),
      }),
    )
    .mutation(({ ctx, input }) => rotateWebhookSecretAsAdmin({ ctx, input })),
  update: adminProcedure
    .input(
      z
        .strictObject({
          tenantId,
          name: z.string().trim().min(1).max(200).optional(),
          markupBps: z.number().int().min(0).max(MAX_MARKUP_BPS).optional(),
          /** Each limit: a number, null = unlimited, omitted = unchanged. */
          limits: limitsInput.optional(),
          /** null removes the webhook URL. */
          webhookUrl: webhookUrl.nullable().optional(),
          /** balance.low webhook threshold; null = none. */
          lowBalanceThresholdMicroCents: wireAmount.nullable().optional(),
        })
        .refine(
          (v) =>
            v.name !== undefined ||
            v.markupBps !== undefined ||
            v.limits !== undefined ||
            v.webhookUrl !== undefined ||
            v.lowBalanceThresholdMicroCents !== undefined,
          'nothing to update: give name, markupBps, limits, webhookUrl or lowBalanceThresholdMicroCents',
        ),
    )
    .mutation(({ ctx, input }) => updateTenantAsAdmin({ ctx, input })),
  suspend: adminProcedure
    .input(statusChange)
    .mutation(({ ctx, input }) => setTenantStatusAsAdmin({ ctx, input, status: 'suspended' })),
  reactivate: adminProcedure
    .input(statusChange)
    .mutation(({ ctx, input }) => setTenantStatusAsAdmin({ ctx, input, status: 'active' })),
  create: adminProcedure
    .input(
      z.strictObject({
        name: z.string().trim().min(1).max(200),
        markupBps: z.number().int().min(0).max(MAX_MARKUP_BPS).optional(),
        limits: limitsInput.optional(),
        webhookUrl: webhookUrl.optional(),
        /** balance.low webhook threshold; omitted = none. */
        lowBalanceThresholdMicroCents: wireAmount.optional(),
      }),
    )
    .mutation(({ ctx, input }) => createTenantAsAdmin({ ctx, input })),
  issueToken: adminProcedure
    .input(
      z.strictObject({
        tenantId,
        /** Token lifetime; default 90 days, at most 1 year. */
        ttlSeconds: z
          .number()
          .int()
          .min(60)
          .max(366 * 86_400)
          .optional(),
        /** The principal recorded as actor for this token; default `tenant:<id>`. */
        sub: z.string().min(1).max(200).optional(),
        /** `test`: a test-mode token (claim `mode: "test"`, the tenant's sandbox); default `live`. */
        mode: z.enum(['live', 'test']).optional(),
      }),
    )
    .mutation(({ ctx, input }) => issueTenantToken({ ctx, input })),
});
