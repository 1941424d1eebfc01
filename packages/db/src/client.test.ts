import { readFileSync } from 'node:fs';
import net from 'node:net';
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

/** Waits until backend `pid` is running its `SELECT pg_sleep(…)` (sent, not just queued). */
async function untilSleeping(pid: number): Promise<void> {
  for (;;) {
    const [r] = await t.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE pid = ${pid} AND state = 'active' AND query LIKE 'SELECT pg_sleep%'`;
    if (r?.n === 1) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

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

  it('a connection killed during a query comes back clean: no stale error for the next query (patched postgres.js)', async () => {
    // postgres.js kept the killed backend's ErrorResponse (57P01) across the reconnect, and failed the
    // next query on that connection with it (seen after a Postgres restart; porsager/postgres#1215).
    const client = postgres(t.url, { max: 1, onnotice: () => {} });
    try {
      const [me] = await client<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      const sleeping = client`SELECT pg_sleep(30)`.then(
        () => null,
        (err: unknown) => err,
      );
      await untilSleeping(me?.pid ?? 0);
      await t.sql`SELECT pg_terminate_backend(${me?.pid ?? 0})`;
      expect(await sleeping, 'the query in flight fails').toBeInstanceOf(Error);
      const [row] = await client<{ x: number }[]>`SELECT 1 AS x`;
      expect(row?.x, 'the next query runs on a fresh backend').toBe(1);
    } finally {
      await client.end({ timeout: 5 });
    }
  });

  it('a connection closed with a write still buffered reconnects instead of hanging (patched postgres.js)', async () => {
    // postgres.js buffers small writes behind a setImmediate. When the socket closed before that
    // ran, the cancelled timer was never cleared, so every later write on the connection (the next
    // startup message first) waited for a flush that never came: the reconnect hung until
    // connect_timeout, again and again (seen as 5 s stalls after a Postgres restart; LanternOps/breeze#3225).
    // The close is delivered on the next tick after the query's write is buffered, as a close
    // arriving from the network before the flush would be.
    const { hostname, port } = new URL(t.url);
    let socket: net.Socket | undefined;
    let closeAfterNextWrite = false;
    // `socket` (a function returning the socket to use) is an option postgres.js reads but does not type.
    const options = {
      max: 1,
      connect_timeout: 3,
      onnotice: () => {},
      socket: () => {
        socket = net.connect(Number(port || 5432), hostname || '127.0.0.1');
        return socket;
      },
      debug: () => {
        if (!closeAfterNextWrite || !socket) return;
        closeAfterNextWrite = false;
        const s = socket;
        process.nextTick(() => {
          s.emit('close', false);
          s.destroy();
        });
      },
    };
    const client = postgres(t.url, options as Parameters<typeof postgres>[1]);
    try {
      await client`SELECT 1 AS x`;
      closeAfterNextWrite = true;
      const lost = await client`SELECT 2 AS y`.then(
        () => null,
        (err: unknown) => err,
      );
      expect(lost, 'the query whose connection closed fails').toMatchObject({ code: 'CONNECTION_CLOSED' });
      const [row] = await client<{ z: number }[]>`SELECT 3 AS z`;
      expect(row?.z, 'the connection comes back').toBe(3);
    } finally {
      await client.end({ timeout: 5 });
    }
  });

  it("a transaction whose connection died cannot run its remaining statements on the pool's next connection (patched postgres.js)", async () => {
    // sql.begin() rejects when its connection closes, but its callback runs on. postgres.js sent the
    // callback's later statements (and its COMMIT / ROLLBACK) to the same pooled connection, which by
    // then may have reconnected for other work: they ran outside any transaction, or inside another
    // caller's (porsager/postgres#1215, #1216). Half a ledger transaction committed is money lost.
    await t.sql`CREATE TABLE IF NOT EXISTS orphan_statement_probe (v int)`;
    const client = postgres(t.url, { max: 1, onnotice: () => {} });
    try {
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let pid = 0;
      let settleOrphan: (outcome: unknown) => void = () => {};
      const orphan = new Promise<unknown>((resolve) => {
        settleOrphan = resolve;
      });
      const transaction = client
        .begin(async (tx) => {
          const [me] = await tx<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
          pid = me?.pid ?? 0;
          await gate; // suspended on something else while the backend is killed
          settleOrphan(
            await tx`INSERT INTO orphan_statement_probe VALUES (1)`.then(
              () => 'ran',
              (err: unknown) => err,
            ),
          );
        })
        .then(
          () => null,
          (err: unknown) => err,
        );
      while (pid === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await t.sql`SELECT pg_terminate_backend(${pid})`;
      expect(await transaction, 'the transaction fails').toBeInstanceOf(Error);
      await client`SELECT 1`; // the pool's one connection reconnects for other work
      release();
      expect(await orphan, 'the orphaned statement is refused').toBeInstanceOf(Error);
      const [row] = await t.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM orphan_statement_probe`;
      expect(row?.n, 'nothing of the dead transaction was written').toBe(0);
    } finally {
      await client.end({ timeout: 5 });
    }
  });

  it('a connection reset inside a transaction leaves the pool usable (patched postgres.js)', async () => {
    // On a reset the socket reports the error before the close; the transaction's ROLLBACK, issued
    // in between, was queued on the dying connection and never settled, and the reconnected
    // connection then waited for its answer forever: every later query on it hung.
    const { hostname, port } = new URL(t.url);
    const clientSockets = new Set<net.Socket>();
    const proxy = net.createServer((downstream) => {
      const upstream = net.connect(Number(port || 5432), hostname || '127.0.0.1');
      clientSockets.add(downstream);
      for (const s of [downstream, upstream]) s.on('error', () => {});
      downstream.on('close', () => {
        clientSockets.delete(downstream);
        upstream.destroy();
      });
      upstream.on('close', () => downstream.destroy());
      downstream.pipe(upstream).pipe(downstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const viaProxy = new URL(t.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String((proxy.address() as net.AddressInfo).port);
    const client = postgres(viaProxy.toString(), { max: 1, onnotice: () => {} });
    // A hang is the failure here: bound each wait so that it fails with a message instead.
    const within = <T>(what: string, p: Promise<T>) =>
      Promise.race([
        p,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`${what}: no answer in 10 s`)), 10_000),
        ),
      ]);
    try {
      const failed = await within(
        'the transaction',
        client
          .begin(async (tx) => {
            const [me] = await tx<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
            const sleeping = tx`SELECT pg_sleep(30)`.execute();
            await untilSleeping(me?.pid ?? 0);
            for (const s of clientSockets) s.resetAndDestroy();
            await sleeping;
          })
          .then(
            () => null,
            (err: unknown) => err,
          ),
      );
      expect(failed, 'the transaction fails').toBeInstanceOf(Error);
      for (const i of [1, 2, 3]) {
        const [row] = await within(
          `query ${i} after the reset`,
          client<{ i: number }[]>`SELECT ${i}::int AS i`,
        );
        expect(row?.i).toBe(i);
      }
    } finally {
      await client.end({ timeout: 1 });
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  describe('a cursor whose connection dies while its consumer holds a batch (patched postgres.js)', () => {
    /** A one-connection client, a cursor over it holding its first batch, and its backend killed. */
    async function cursorCutOff() {
      let closed = () => {};
      const seenClosed = new Promise<void>((resolve) => {
        closed = resolve;
      });
      const client = postgres(t.url, { max: 1, onnotice: () => {}, onclose: () => closed() });
      const [me] = await client<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      const rows = client`SELECT g FROM generate_series(1, 1000) AS g`.cursor(10)[Symbol.asyncIterator]();
      const first = await rows.next();
      expect(first.value).toHaveLength(10);
      await t.sql`SELECT pg_terminate_backend(${me?.pid ?? 0})`;
      await seenClosed;
      return { client, rows };
    }

    it('the next batch fails, instead of the rows ending early as if complete', async () => {
      // The usage CSV report reads such a cursor: a silently short file is what it must never send.
      const { client, rows } = await cursorCutOff();
      try {
        await expect(Promise.resolve(rows.next())).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
        const [row] = await client<{ x: number }[]>`SELECT 1 AS x`;
        expect(row?.x).toBe(1);
      } finally {
        await client.end({ timeout: 5 });
      }
    });

    it('closing it (the client went away) neither throws unhandled nor answers the next query', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      const { client, rows } = await cursorCutOff();
      try {
        await rows.return?.();
        const [row] = await client<{ x: number }[]>`SELECT 1 AS x`;
        expect(row?.x, 'the next query gets its own answer').toBe(1);
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off('unhandledRejection', onUnhandled);
        await client.end({ timeout: 5 });
      }
      expect(unhandled).toEqual([]);
    });
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
