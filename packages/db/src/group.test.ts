import { describe, expect, it } from 'vitest';
import type { Db } from './client';
import { groupStatements } from './group';

// The scheduling of groupStatements, on its own: `alone`/`together` are controllable stand-ins for
// the statements (the real ones are tested in ledger/jobs.test.ts and api auth/tenant.test.ts).
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function harness(maxGroup = 100, rowAnswers: 'all' | 'first' = 'first') {
  const calls: {
    kind: 'alone' | 'together';
    entries: string[];
    done: ReturnType<typeof deferred<Record<string, unknown>[]>>;
  }[] = [];
  const run = groupStatements<string, string>({
    maxInFlight: 1,
    maxGroup,
    keyOf: (e) => e,
    alone: async (_db, e) => {
      const done = deferred<Record<string, unknown>[]>();
      calls.push({ kind: 'alone', entries: [e], done });
      const rows = await done.promise;
      return rows[0]?.value as string | undefined;
    },
    together: (_db, entries) => {
      const done = deferred<Record<string, unknown>[]>();
      calls.push({ kind: 'together', entries: [...entries], done });
      return done.promise;
    },
    fromRow: (row) => row.value as string,
    rowAnswers,
  });
  return { calls, run, db: {} as Db };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('groupStatements', () => {
  it('goes alone when idle; what arrives meanwhile goes in ONE later statement, never answered by the one in flight', async () => {
    const { calls, run, db } = harness();
    const a = run(db, 'a');
    await tick();
    const b = run(db, 'b');
    const c = run(db, 'c');
    await tick();
    expect(calls.map((x) => [x.kind, x.entries])).toEqual([['alone', ['a']]]);
    calls[0]?.done.resolve([{ id: 'a', value: 'A' }]);
    expect(await a).toBe('A');
    await tick();
    expect(calls.map((x) => [x.kind, x.entries])).toEqual([
      ['alone', ['a']],
      ['together', ['b', 'c']],
    ]);
    // A key with no row (the statement did not apply to it) answers undefined.
    calls[1]?.done.resolve([{ id: 'b', value: 'B' }]);
    expect(await b).toBe('B');
    expect(await c).toBeUndefined();
  });

  it('a failed group is retried alone per entry: each caller gets its own result or error', async () => {
    const { calls, run, db } = harness();
    const first = run(db, 'x');
    await tick();
    const rest = ['p', 'q', 'r'].map((e) => run(db, e));
    calls[0]?.done.resolve([]);
    await first;
    await tick();
    calls[1]?.done.reject(new Error('group rolled back'));
    await tick();
    expect(calls.slice(2).map((x) => [x.kind, x.entries])).toEqual([
      ['alone', ['p']],
      ['alone', ['q']],
      ['alone', ['r']],
    ]);
    calls[2]?.done.resolve([{ id: 'p', value: 'P' }]);
    calls[3]?.done.reject(new Error('q is bad'));
    calls[4]?.done.resolve([{ id: 'r', value: 'R' }]);
    const settled = await Promise.allSettled(rest);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([
      'P',
      'q is bad',
      'R',
    ]);
  });

  it('groups at most maxGroup entries, in arrival order', async () => {
    const { calls, run, db } = harness(2);
    const all = [run(db, '1')];
    await tick();
    all.push(run(db, '2'), run(db, '3'), run(db, '4'));
    calls[0]?.done.resolve([]);
    await tick();
    calls[1]?.done.resolve([]);
    await tick();
    calls[2]?.done.resolve([]);
    await Promise.all(all);
    expect(calls.map((x) => [x.kind, x.entries])).toEqual([
      ['alone', ['1']],
      ['together', ['2', '3']],
      ['alone', ['4']],
    ]);
  });

  it('two entries for one key in a group of writes: only the first is answered with its row', async () => {
    const { calls, run, db } = harness(100, 'first');
    const first = run(db, 'x');
    await tick();
    const [a, again] = [run(db, 'j'), run(db, 'j')];
    calls[0]?.done.resolve([]);
    await first;
    await tick();
    expect(calls[1]?.entries).toEqual(['j', 'j']);
    // The statement applies the first entry for a key; the second finds it done and returns no row.
    calls[1]?.done.resolve([{ id: 'j', value: 'J' }]);
    expect(await a).toBe('J');
    expect(await again).toBeUndefined();
  });

  it('two entries for one key in a group of reads: both are answered with its row', async () => {
    const { calls, run, db } = harness(100, 'all');
    const first = run(db, 'x');
    await tick();
    const [a, again] = [run(db, 't'), run(db, 't')];
    calls[0]?.done.resolve([]);
    await first;
    await tick();
    calls[1]?.done.resolve([{ id: 't', value: 'T' }]);
    expect([await a, await again]).toEqual(['T', 'T']);
  });
});
