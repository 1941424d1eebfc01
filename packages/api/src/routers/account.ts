import { z } from 'zod';
import { getAccountForTenant, getStatementForTenant } from '../services/account.ts';
import { cursorSchema, instantSchema, limitSchema } from '../services/wire.ts';
import { router, tenantProcedure } from '../trpc.ts';

export const accountRouter = router({
  get: tenantProcedure.query(({ ctx }) => getAccountForTenant({ ctx })),
  ledger: tenantProcedure
    .input(
      z
        .strictObject({
          from: instantSchema.optional(),
          to: instantSchema.optional(),
          cursor: cursorSchema.optional(),
          limit: limitSchema,
        })
        .default({ limit: 20 }),
    )
    .query(({ ctx, input }) => getStatementForTenant({ ctx, input })),
});
