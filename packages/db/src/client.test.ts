import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, migrate, migrationsCurrent, migrationsFolder } from './client';
import { createTestDatabase, type TestDatabase } from './testing/index';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.close();
});

describe('client', () => {
  it('returns int8 as bigint, exact beyond 2^53', async () => {
    const big = 2n ** 62n + 1n;
    const [row] = await t.sql<{ v: bigint }[]>`SELECT ${big.toString()}::bigint + 1 AS v`;
    expect(row?.v).toBe(2n ** 62n + 2n);
    const drizzleRows = (await t.db.execute(sql`SELECT ${big}::bigint AS v`)) as unknown as { v: bigint }[];
    expect(drizzleRows[0]?.v).toBe(big);
  });

  it('survives a connection whose type-catalog query fails (patched postgres.js, porsager/postgres#1192)', async () => {
    // postgres.js sends that catalog query as each new connection's first statement and dropped its
    // promise: when it failed (here a 1 ms statement_timeout; in production a reset while Postgres
    // restarts) the rejection was unhandled and killed the gateway. patches/postgres@3.4.9.patch.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const client = postgres(t.url, { max: 1, onnotice: () => {}, connection: { statement_timeout: 1 } });
    try {
      // The query itself may time out too; what matters is that it settles and nothing escapes.
      await client`SELECT 1 AS x`.catch(() => undefined);
      await client.end({ timeout: 5 });
      await new Promise((resolve) => setImmediate(resolve)); // one turn: unhandled rejections are reported by now
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('runs sessions in UTC', async () => {
    const [row] = await t.sql<{ tz: string }[]>`SELECT current_setting('TimeZone') AS tz`;
    expect(row?.tz).toBe('UTC');
  });

  it('reports migrations current, and the migrator is idempotent and safe to run concurrently', async () => {
    expect(await migrationsCurrent(t.db)).toBe(true);
    expect(await migrationsCurrent(t.sql)).toBe(true);
    await Promise.all([migrate(t.url), migrate(t.url), migrate(t.url)]);
    const journal = JSON.parse(readFileSync(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as {
      entries: unknown[];
    };
    const [row] = await t.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM drizzle.__drizzle_migrations`;
    expect(row?.n, 'each committed migration applied exactly once').toBe(BigInt(journal.entries.length));
  });

  it('reports an unmigrated database as not current', async () => {
    const [row] = await t.sql<{ db: string }[]>`SELECT current_database() AS db`;
    expect(row?.db).toBe(t.name);
    const other = `${t.name}_empty`;
    await t.sql`CREATE DATABASE ${t.sql(other)}`;
    const url = new URL(t.url);
    url.pathname = `/${other}`;
    const empty = createDb(url.toString(), { max: 1 });
    try {
      expect(await migrationsCurrent(empty.db)).toBe(false);
    } finally {
      await empty.close();
      await t.sql`DROP DATABASE ${t.sql(other)} WITH (FORCE)`;
    }
  });
});
