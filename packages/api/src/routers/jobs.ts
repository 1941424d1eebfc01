import { jobStatus } from '@tollgate/db';
import { z } from 'zod';
import { cancelJobForTenant, getJobForTenant, listJobsForTenant, submitJob } from '../services/jobs.ts';
import { cursorSchema, idSchema, limitSchema, positiveWireAmount } from '../services/wire.ts';
import { pricedTenantProcedure, router, tenantProcedure } from '../trpc.ts';

export const submitInput = z.strictObject({
  model: z.string().min(1).max(200),
  input: z.record(z.string(), z.unknown()),
  /** Tenant-scoped: same key + same request → same job, never a second charge. */
  idempotencyKey: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .optional(),
  /**
   * Where tollgate notifies the tenant when the job ends (overrides the tenant's default). https only;
   * http too when the gateway allows it (dev, tests; checked by the submit service before anything
   * is written). No credentials in the URL.
   */
  webhookUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .refine((u) => {
      // zod runs refinements after a failed format check too: an unparsable URL is already reported.
      if (!URL.canParse(u)) return true;
      const url = new URL(u);
      return url.username === '' && url.password === '';
    }, 'no credentials in the webhook URL')
    .optional(),
  /** Refuse (before any money moves) if the quote is above this. */
  maxCostMicroCents: positiveWireAmount.optional(),
  tags: z.array(z.string().min(1).max(64)).max(20).optional(),
});

export const jobIdInput = z.strictObject({ id: idSchema('job') });

/** `jobs.list` filters; `GET /v1/jobs` takes the same as query parameters. */
export const listJobsInput = z.strictObject({
  status: z.enum(jobStatus.enumValues).optional(),
  model: z.string().min(1).max(200).optional(),
  cursor: cursorSchema.optional(),
  limit: limitSchema,
});

export const jobsRouter = router({
  submit: pricedTenantProcedure.input(submitInput).mutation(({ ctx, input }) => submitJob({ ctx, input })),
  get: tenantProcedure.input(jobIdInput).query(({ ctx, input }) => getJobForTenant({ ctx, input })),
  list: tenantProcedure
    .input(listJobsInput.default({ limit: 20 }))
    .query(({ ctx, input }) => listJobsForTenant({ ctx, input })),
  cancel: tenantProcedure.input(jobIdInput).mutation(({ ctx, input }) => cancelJobForTenant({ ctx, input })),
});
