import { z } from 'zod';
import { topUpAsAdmin } from '../../services/admin/credits.ts';
import { idSchema, positiveWireAmount } from '../../services/wire.ts';
import { adminProcedure, router } from '../../trpc.ts';

export const creditsRouter = router({
  topUp: adminProcedure
    .input(
      z.strictObject({
        tenantId: idSchema('ten'),
        amountMicroCents: positiveWireAmount,
        idempotencyKey: z.string().min(1).max(200),
        reference: z.string().min(1).max(500),
      }),
    )
    .mutation(({ ctx, input }) => topUpAsAdmin({ ctx, input })),
});
