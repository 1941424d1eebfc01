// `@tollgate/api/operators-bootstrap`: the first operator key of a fresh deployment, made with nothing
// but the database (`pnpm tollgate operators create --role admin --name <who>` with DATABASE_URL set
// and no token). Applies the migrations first (idempotent, under the migrator's lock), so it works on
// an empty database too, then creates the key exactly as `admin.operators.create` does (same function,
// one audit row) with actor `system:bootstrap`.
import { createDb, migrate } from '@tollgate/db/client';
import { insertOperatorKey, type OperatorKeyView } from './services/credentials.ts';

/** The actor recorded for keys made by the bootstrap command (no operator exists to be the actor). */
export const BOOTSTRAP_ACTOR = 'system:bootstrap';

export async function bootstrapOperatorKey(opts: {
  databaseUrl: string;
  name: string;
  role: 'admin' | 'finance';
  expiresAt?: Date | undefined;
}): Promise<OperatorKeyView & { key: string }> {
  await migrate(opts.databaseUrl);
  const { db, close } = createDb(opts.databaseUrl, { max: 1 });
  try {
    return await insertOperatorKey(db, {
      name: opts.name,
      role: opts.role,
      expiresAt: opts.expiresAt,
      actor: BOOTSTRAP_ACTOR,
      requestId: null,
    });
  } finally {
    await close();
  }
}
