// `@tollgate/db/client`: connections and the migrator. The only module that opens sockets to Postgres.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate as drizzleMigrate } from 'drizzle-orm/postgres-js/migrator';
import postgres, { type Notice, type Sql } from 'postgres';
import * as schema from './schema';

export type Schema = typeof schema;
/** The Drizzle database every ledger operation takes as its first argument. */
export type Db = PostgresJsDatabase<Schema> & { $client: Sql };
export type { Sql };

/** Committed SQL migrations (drizzle-kit output), applied in order by `migrate`. */
export const migrationsFolder = fileURLToPath(new URL('../drizzle', import.meta.url));

// Arbitrary constant: serialises concurrent migrators (several gateway instances, parallel test
// files) on one database, since drizzle's migrator itself is not safe to run twice at once.
const MIGRATION_LOCK_ID = 7_061_717_001;

export interface CreateDbOptions {
  /** Pool size (default 10). */
  max?: number;
  /** Server notices (default: ignored). */
  onnotice?: (notice: Notice) => void;
}

function connect(url: string, opts: CreateDbOptions): Sql {
  return postgres(url, {
    max: opts.max ?? 10,
    onnotice: opts.onnotice ?? (() => {}),
    // int8 as JS bigint, never string or lossy number: money is bigint end to end.
    types: { bigint: postgres.BigInt },
    // Days and windows are decided by the DB clock in UTC, whatever the server's default zone.
    connection: { TimeZone: 'UTC', application_name: 'tollgate' },
    // Reconnect waits (seconds, shared by the pool) grow to 20 s by default, so during a database
    // outage a request could wait most of a minute for its 503; cap the wait at 2 s.
    backoff: (attempt: number) => (0.5 + Math.random() / 2) * Math.min(3 ** attempt / 100, 2),
  });
}

/** A pooled connection: `db` (Drizzle, typed schema) and the underlying postgres.js `sql`. */
export function createDb(
  url: string,
  opts: CreateDbOptions = {},
): { db: Db; sql: Sql; close(): Promise<void> } {
  const sql = connect(url, opts);
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}

const dialect = new PgDialect();

/** Grouping concurrent statements of one kind into one (group commit, coalesced reads): ./group.ts. */
export { type GroupOptions, groupStatements } from './group';

/**
 * Runs `query` (a Drizzle `sql` template) on the pool as a prepared statement: postgres.js prepares
 * it once per connection, so Postgres parses and plans it once and its row description is read once,
 * where Drizzle's `execute` sends every query unprepared. For statements every request runs. Rows
 * come back as the driver gives them (snake_case unless aliased; bigint as bigint).
 */
export async function queryPrepared<T>(db: Db, query: SQL): Promise<T[]> {
  const { sql: text, params } = dialect.sqlToQuery(query);
  return (await db.$client.unsafe(text, params as never[], { prepare: true })) as unknown as T[];
}

/**
 * Applies the committed migrations on its own single connection, under an advisory lock so that
 * concurrent callers wait for each other instead of racing.
 */
export async function migrate(url: string): Promise<void> {
  const sql = connect(url, { max: 1 });
  try {
    await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK_ID})`;
    try {
      await drizzleMigrate(drizzle(sql), { migrationsFolder });
    } finally {
      await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK_ID})`;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

interface JournalEntry {
  when: number;
  tag: string;
}

function lastCommittedMigration(): number {
  const journal = JSON.parse(readFileSync(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as {
    entries: JournalEntry[];
  };
  return Math.max(0, ...journal.entries.map((e) => e.when));
}

/** True when the database has every committed migration applied (for `/readyz`). */
export async function migrationsCurrent(conn: Db | Sql): Promise<boolean> {
  const sql: Sql = typeof conn === 'function' ? conn : (conn as unknown as { $client: Sql }).$client;
  const table = await sql<{ present: boolean }[]>`
    SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS present`;
  if (!table[0]?.present) return false;
  const applied = await sql<
    { last: bigint | null }[]
  >`SELECT max(created_at) AS last FROM drizzle.__drizzle_migrations`;
  const last = applied[0]?.last;
  return last !== null && last !== undefined && Number(last) >= lastCommittedMigration();
}
