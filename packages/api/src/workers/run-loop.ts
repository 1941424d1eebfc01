import type { DbBreaker } from '../db-breaker.ts';
import type { Logger } from '../logger.ts';

export type Worker = {
  start(): void;
  /** Stops scheduling and waits for the run in progress (graceful shutdown). */
  stop(): Promise<void>;
  /** One pass, awaited (tests drive workers deterministically with this). */
  runOnce(): Promise<number>;
};

/**
 * A self-rescheduling loop (setTimeout chain: runs never overlap within one instance). `pass`
 * returns how many items it handled; with `batchSize`, a pass that handled a full batch is followed
 * at once by the next one instead of after `intervalMs` (a backlog drains at the speed of the work,
 * not at one batch per interval), and the loop goes back to the interval when a pass comes up short.
 * With `dbBreaker`, a pass is skipped while the database is known to be down (the breaker's probe
 * alone asks the pool), and a failed pass tells the breaker why.
 */
export function createLoop(
  name: string,
  intervalMs: number,
  log: Logger,
  pass: () => Promise<number>,
  opts: { batchSize?: number; dbBreaker?: Pick<DbBreaker, 'isOpen' | 'observe'> } = {},
): Worker {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  let stopped = true;

  const runOnce = (): Promise<number> => {
    if (running) return running;
    if (opts.dbBreaker?.isOpen()) return Promise.resolve(0);
    running = pass()
      .catch((err: unknown) => {
        opts.dbBreaker?.observe(err);
        log.error({ err, worker: name }, 'worker pass failed');
        return 0;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };

  const schedule = (handled = 0) => {
    if (stopped) return;
    const full = opts.batchSize !== undefined && handled >= opts.batchSize;
    timer = setTimeout(
      () => {
        timer = null;
        void runOnce().then(schedule);
      },
      full ? 0 : intervalMs,
    );
    timer.unref();
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      if (running) await running;
    },
    runOnce,
  };
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}
