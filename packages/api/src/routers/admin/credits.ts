import { PG_BIGINT_MAX } from '@tollgate/db/ledger';
import { z } from 'zod';
import { adjustAsAdmin, topUpAsAdmin } from '../../services/admin/credits.ts';
import { idSchema, positiveWireAmount } from '../../services/wire.ts';
import { adminProcedure, router } from '../../trpc.ts';

/** A signed, non-zero wire amount: a safe integer, or a string of digits with an optional minus. */
const signedWireAmount = z
  .union([z.number().int().safe(), z.string().regex(/^-?\d{1,19}$/, 'must be an integer string')])
  .transform((v, ctx) => {
    const n = BigInt(v);
    if (n > PG_BIGINT_MAX || n < -PG_BIGINT_MAX) {
      ctx.addIssue({ code: 'custom', message: 'amount out of range (AMOUNT_OUT_OF_RANGE)' });
      return z.NEVER;
    }
    return n;
  })
  .refine((n) => n !== 0n, 'must not be zero');

export const creditsRouter = router({
  topUp: adminProcedure
    .input(
      z.strictObject({
        tenantId: idSchema('ten'),
        amountMicroCents: positiveWireAmount,
        /** Omitted → derived from tenant, amount and reference/reason (services/admin/credits.ts). */
        idempotencyKey: z.string().min(1).max(200).optional(),
        reference: z.string().min(1).max(500),
        /** `test`: free test credit into the tenant's sandbox (test mode); default `live`. */
        mode: z.enum(['live', 'test']).optional(),
      }),
    )
    .mutation(({ ctx, input }) => topUpAsAdmin({ ctx, input })),
  adjust: adminProcedure
    .input(
      z.strictObject({
        tenantId: idSchema('ten'),
        /** Signed: + credits, − debits (never below zero). */
        amountMicroCents: signedWireAmount,
        /** Omitted → derived from tenant, amount and reference/reason (services/admin/credits.ts). */
        idempotencyKey: z.string().min(1).max(200).optional(),
        reason: z.string().min(1).max(500),
      }),
    )
    .mutation(({ ctx, input }) => adjustAsAdmin({ ctx, input })),
});
