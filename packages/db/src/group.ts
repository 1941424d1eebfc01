// Grouping concurrent statements of one kind into one statement (group commit for writes,
// coalesced reads). A statement costs Postgres (and the gateway: one socket write and one wake-up
// each) far more in per-statement and per-commit overhead than in the rows it touches: measured with
// bench/src/db-split.ts, a job open alone costs the database ~1.1–1.4 ms of CPU, in a group of 10
// ~0.5 ms. So, per pool and per kind: up to `maxInFlight` statements run at once, each caller going
// alone at once while there is room (no added latency when the gateway is quiet); callers that
// arrive while they are all busy wait, and the next free slot sends everyone waiting (up to
// `maxGroup`) as ONE statement. A waiting caller always goes in a statement that starts after it
// arrived, so a grouped read is as fresh as a read of its own.
//
// For writes (the ledger's job steps, migration 0008) exactness does not depend on grouping: each
// entry of a group runs the same single-entry SQL function, in order, inside the group's
// transaction, so the outcome is what running them one after another would give. The group
// functions apply entries ordered by tenant, so two groups in flight lock tenants' rows in the same
// order and cannot deadlock each other; the capture and completion groups lock all their job rows
// first (migration 0009), as every single-job operation locks its job before the balance row, so a
// group cannot deadlock with a webhook's or a poll's transaction either. If a group's statement fails (one entry broke a CHECK, a
// unique key was taken concurrently, a deadlock with some other transaction), it rolled back as a
// whole and every caller retries alone, so each gets its own result or its own error. A group that
// committed is never re-run.
import type { Db } from './client';

interface Waiting<E, R> {
  entry: E;
  resolve: (result: R | undefined) => void;
  reject: (err: unknown) => void;
}

interface PoolState<E, R> {
  inFlight: number;
  queue: Waiting<E, R>[];
}

export interface GroupOptions<E, R> {
  /** Statements of this kind in flight at once per pool (alone or grouped). */
  maxInFlight: number;
  maxGroup: number;
  /** One entry, its own statement. */
  alone: (db: Db, entry: E) => Promise<R | undefined>;
  /** Several entries, one statement: the rows it returned (at most one per key). */
  together: (db: Db, entries: readonly E[]) => Promise<Record<string, unknown>[]>;
  /** What an entry is answered by: the `id` column of the row returned for it (no row = undefined). */
  keyOf: (entry: E) => string;
  /** The key a returned row answers, when it is not its `id` column (default: `row.id`). */
  rowKey?: (row: Record<string, unknown>) => unknown;
  /** A returned row → the caller's result. */
  fromRow: (row: Record<string, unknown>) => R;
  /**
   * Which entries of one key a returned row answers. `all` for a read: every entry that asked for that
   * key gets it. `first` for a write: two entries for one key (a webhook and the poller completing
   * the same job) get one row, because the statement applied the first and not the second, so only
   * the first is answered with it; the others answer undefined, as they would have alone, and their
   * callers read what happened.
   */
  rowAnswers: 'all' | 'first';
}

/** A function that runs `entry` alone or in a group, resolving with what `alone` would have. */
export function groupStatements<E, R>(
  opts: GroupOptions<E, R>,
): (db: Db, entry: E) => Promise<R | undefined> {
  const states = new WeakMap<Db, PoolState<E, R>>();

  const runGroup = async (db: Db, group: Waiting<E, R>[]): Promise<void> => {
    const alone = (w: Waiting<E, R>) => opts.alone(db, w.entry).then(w.resolve, w.reject);
    if (group.length === 1) return alone(group[0] as Waiting<E, R>);
    let rows: Record<string, unknown>[];
    try {
      rows = await opts.together(
        db,
        group.map((w) => w.entry),
      );
    } catch {
      // Rolled back as a whole: nothing of it happened, so each entry can safely run again alone.
      await Promise.all(group.map(alone));
      return;
    }
    // Done (committed, for a write): never re-run an entry from here on (mapping failures reject).
    try {
      const byKey = new Map(rows.map((row) => [opts.rowKey ? opts.rowKey(row) : row.id, opts.fromRow(row)]));
      const answered = new Set<string>();
      for (const w of group) {
        const key = opts.keyOf(w.entry);
        w.resolve(opts.rowAnswers === 'first' && answered.has(key) ? undefined : byKey.get(key));
        answered.add(key);
      }
    } catch (err) {
      for (const w of group) w.reject(err);
    }
  };

  const pump = (db: Db, state: PoolState<E, R>): void => {
    while (state.inFlight < opts.maxInFlight && state.queue.length > 0) {
      const group = state.queue.splice(0, opts.maxGroup);
      state.inFlight++;
      void runGroup(db, group).finally(() => {
        state.inFlight--;
        pump(db, state);
      });
    }
  };

  return (db, entry) => {
    let state = states.get(db);
    if (!state) {
      state = { inFlight: 0, queue: [] };
      states.set(db, state);
    }
    const s = state;
    return new Promise<R | undefined>((resolve, reject) => {
      s.queue.push({ entry, resolve, reject });
      pump(db, s);
    });
  };
}
