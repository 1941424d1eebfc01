import { z } from 'zod';
import {
  getAccountForTenant,
  getStatementForTenant,
  resetTestBalanceForTenant,
} from '../services/account.ts';
import { accountKeys } from '../services/credentials.ts';
import {
  listDeliveriesForTenant,
  redeliverForTenant,
  WEBHOOK_EVENT_TYPES,
} from '../services/webhook-deliveries.ts';
import { cursorSchema, idSchema, instantSchema, limitSchema } from '../services/wire.ts';
import { router, tenantProcedure } from '../trpc.ts';

/** A key's label (who or what holds it), shown in lists and recorded in audit rows. */
export const keyName = z.string().trim().min(1).max(200);

export const keyCreateInput = z.strictObject({
  name: keyName,
  /** `live` → a `tg_live_` key, `test` → a `tg_test_` key (test mode). */
  mode: z.enum(['live', 'test']),
  /** Omitted = never expires. */
  expiresAt: instantSchema.optional(),
});

/** Revoked keys are listed (with revokedAt) unless `includeRevoked: false`. */
export const keyListInput = z.strictObject({ includeRevoked: z.boolean().default(true) });

/** `account.ledger` filters; `GET /v1/account/ledger` takes the same as query parameters. */
export const ledgerInput = z.strictObject({
  from: instantSchema.optional(),
  to: instantSchema.optional(),
  cursor: cursorSchema.optional(),
  limit: limitSchema,
});

/** The tenant's own webhook deliveries (README "Tenant webhooks"). */
const webhooksRouter = router({
  deliveries: tenantProcedure
    .input(
      z
        .strictObject({
          status: z.enum(['pending', 'delivered', 'failed']).optional(),
          type: z.enum(WEBHOOK_EVENT_TYPES).optional(),
          jobId: idSchema('job').optional(),
          cursor: cursorSchema.optional(),
          limit: limitSchema,
        })
        .default({ limit: 20 }),
    )
    .query(({ ctx, input }) => listDeliveriesForTenant({ ctx, input })),
  /** Sends a delivery again (same webhook-id); a pending one is left as it is, so repeating is safe. */
  redeliver: tenantProcedure
    .input(z.strictObject({ id: idSchema('whd') }))
    .mutation(({ ctx, input }) => redeliverForTenant({ ctx, input })),
});

export const accountRouter = router({
  get: tenantProcedure.query(({ ctx }) => getAccountForTenant({ ctx })),
  ledger: tenantProcedure
    .input(ledgerInput.default({ limit: 20 }))
    .query(({ ctx, input }) => getStatementForTenant({ ctx, input })),
  /** The caller's own API keys; a test-mode caller sees and manages test keys only. */
  keys: router({
    create: tenantProcedure
      .input(keyCreateInput)
      .mutation(({ ctx, input }) => accountKeys.create({ ctx, input })),
    list: tenantProcedure
      .input(
        keyListInput
          .extend({ cursor: cursorSchema.optional(), limit: limitSchema })
          .default({ includeRevoked: true, limit: 20 }),
      )
      .query(({ ctx, input }) => accountKeys.list({ ctx, input })),
    revoke: tenantProcedure
      .input(z.strictObject({ id: idSchema('key') }))
      .mutation(({ ctx, input }) => accountKeys.revoke({ ctx, input })),
  }),
  /** Test mode only: the test balance back to $100.00 (docs/test-mode.md). */
  resetTestBalance: tenantProcedure.mutation(({ ctx }) => resetTestBalanceForTenant({ ctx })),
  webhooks: webhooksRouter,
});
