import { z } from 'zod';
import { createOperatorKey, listOperatorKeys, revokeOperatorKey } from '../../services/credentials.ts';
import { cursorSchema, idSchema, instantSchema, limitSchema } from '../../services/wire.ts';
import { adminProcedure, router } from '../../trpc.ts';
import { keyName } from '../account.ts';

/** Operator keys (`tg_op_…`) for admins and finance; admin only. */
export const operatorsRouter = router({
  /** Returns the key once (`key`). Audited; the key's id and name are the actor of what it does. */
  create: adminProcedure
    .input(
      z.strictObject({
        name: keyName,
        role: z.enum(['admin', 'finance']),
        expiresAt: instantSchema.optional(),
      }),
    )
    .mutation(({ ctx, input }) => createOperatorKey({ ctx, input })),
  list: adminProcedure
    .input(
      z
        .strictObject({
          includeRevoked: z.boolean().default(true),
          cursor: cursorSchema.optional(),
          limit: limitSchema,
        })
        .default({ includeRevoked: true, limit: 20 }),
    )
    .query(({ ctx, input }) => listOperatorKeys({ ctx, input })),
  /** Idempotent; effective on every instance within 1 s. Audited. */
  revoke: adminProcedure
    .input(z.strictObject({ id: idSchema('opk') }))
    .mutation(({ ctx, input }) => revokeOperatorKey({ ctx, input })),
});
