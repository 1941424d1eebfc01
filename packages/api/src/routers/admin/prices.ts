import { z } from 'zod';
import { listPriceOverrides, upsertPriceOverride } from '../../services/admin/prices.ts';
import { cursorSchema, instantSchema, limitSchema } from '../../services/wire.ts';
import { adminProcedure, router } from '../../trpc.ts';

export const pricesRouter = router({
  list: adminProcedure
    .input(
      z
        .strictObject({
          model: z.string().min(1).max(200).optional(),
          cursor: cursorSchema.optional(),
          limit: limitSchema,
        })
        .default({ limit: 20 }),
    )
    .query(({ ctx, input }) => listPriceOverrides({ ctx, input })),
  upsert: adminProcedure
    .input(
      z.strictObject({
        /** A pricing rule in @tollgate/pricing's JSON shape (validated by its priceRuleSchema). */
        rule: z.record(z.string(), z.unknown()),
        /** When the price applies (DB clock); replaces the rule's own effectiveFrom. */
        effectiveFrom: instantSchema,
      }),
    )
    .mutation(({ ctx, input }) => upsertPriceOverride({ ctx, input })),
});
