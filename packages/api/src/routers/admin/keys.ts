import { z } from 'zod';
import { createApiKey, listApiKeys, manageableModes, revokeApiKey } from '../../services/credentials.ts';
import { cursorSchema, idSchema, limitSchema } from '../../services/wire.ts';
import { adminProcedure, router } from '../../trpc.ts';
import { keyCreateInput, keyListInput } from '../account.ts';

/** A tenant's API keys, managed by an admin (product.md "Credentials"). */
export const adminKeysRouter = router({
  /** Returns the key once (`key`); afterwards only its prefix is ever shown. Audited. */
  create: adminProcedure
    .input(keyCreateInput.extend({ tenantId: idSchema('ten') }))
    .mutation(({ ctx, input }) => createApiKey({ ctx, input })),
  list: adminProcedure
    .input(
      keyListInput.extend({ tenantId: idSchema('ten'), cursor: cursorSchema.optional(), limit: limitSchema }),
    )
    .query(({ ctx, input }) =>
      listApiKeys({ ctx, input: { ...input, modes: manageableModes(ctx.principal.mode) } }),
    ),
  /** Idempotent; effective on every instance within 1 s. Audited. */
  revoke: adminProcedure
    .input(z.strictObject({ id: idSchema('key') }))
    .mutation(({ ctx, input }) =>
      revokeApiKey({ ctx, input: { id: input.id, modes: manageableModes(ctx.principal.mode) } }),
    ),
});
