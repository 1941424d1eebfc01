import { databaseUnavailableError, isDatabaseUnavailable } from './errors.ts';
import type { Logger } from './logger.ts';

/**
 * Fail fast while the database is down (a circuit breaker in front of the pool).
 *
 * Without it, every request during an outage queues on postgres.js's pool, and each pooled
 * connection fails one queued query per reconnect wait (≤ 2 s, db client.ts): with a pool of 10 and
 * hundreds of requests a second, the queue grows without bound and a 503 takes seconds to arrive
 * (docs/reliability.md measured 4–9 s with a pool of 4).
 *
 * With it: the first connection-level failure anyone sees (a request, a worker pass, /readyz) makes
 * the database suspect, and one probe (`SELECT 1` on the same pool) asks whether it still answers.
 * - The probe answers: it was one dropped connection (a backend killed, a proxy restart), and nothing
 *   else changes; requests never stop flowing for a blip.
 * - The probe fails too: the breaker opens. Requests are refused at once with the same
 *   503 DATABASE_UNAVAILABLE + Retry-After, workers skip their passes, and probes continue, one at a
 *   time; the first that gets an answer closes the breaker.
 * So an outage is refused at once from its first failed probe on (within the pool's reconnect wait,
 * ≤ 2 s, of its first failure), and a blip costs no more refusals than the failures it caused.
 */
export type DbBreaker = {
  /** True while the database is known to be down (a probe failed too). */
  isOpen(): boolean;
  /** Throws 503 DATABASE_UNAVAILABLE while open; call before touching the database. */
  guard(): void;
  /** Feed errors from database calls: a connection-level one starts a probe (which may open it). */
  observe(err: unknown): void;
  /** Requests refused by `guard` since start (for /metrics and tests). */
  refused(): number;
  /** Stops probing (gateway shutdown). */
  stop(): void;
};

/** Why the breaker refused: never a driver error, so observing it cannot re-open anything. */
class DatabaseMarkedDown extends Error {
  override name = 'DatabaseMarkedDown';
}

export function createDbBreaker(opts: {
  /** One cheap round trip through the pool (`SELECT 1`); rejects while the database is down. */
  probe: () => Promise<unknown>;
  log: Logger;
  /** Pause between a failed probe and the next (the pool's own reconnect wait comes on top). */
  retryMs?: number;
  /**
   * A probe without an answer by then counts as failed (a query on a connection whose network path
   * died gets no error until TCP keepalive notices); the next probe goes out after `retryMs`.
   */
  probeTimeoutMs?: number;
}): DbBreaker {
  const retryMs = opts.retryMs ?? 250;
  const probeTimeoutMs = opts.probeTimeoutMs ?? 3_000;
  /** When the database was found down (a probe failed after a lost connection); null = not open. */
  let openSince: number | null = null;
  let probing = false;
  let stopped = false;
  let refusedCount = 0;
  let timer: NodeJS.Timeout | null = null;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    });
  /** The probe, or a connection-level failure when it has not answered within probeTimeoutMs. */
  const probeOnce = async (): Promise<void> => {
    let timeout: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        opts.probe(),
        new Promise<never>((_, reject) => {
          timeout = setTimeout(
            () => reject(Object.assign(new Error('database probe timed out'), { code: 'CONNECT_TIMEOUT' })),
            probeTimeoutMs,
          );
          timeout.unref();
        }),
      ]);
    } finally {
      clearTimeout(timeout);
    }
  };

  /** Probes until the database answers; the first failed probe opens the breaker. */
  const probeUntilUp = async (cause: unknown): Promise<void> => {
    if (probing || stopped) return;
    probing = true;
    let attempts = 0;
    try {
      for (;;) {
        attempts++;
        try {
          await probeOnce();
          break;
        } catch (err) {
          if (stopped) return;
          if (!isDatabaseUnavailable(err)) {
            // Reachable but the probe itself failed (permissions, a server in recovery that
            // answers): the database answers, so do not refuse; real errors surface per request.
            opts.log.warn({ err }, 'database probe failed with a non-connection error; not refusing');
            break;
          }
          if (openSince === null) {
            openSince = Date.now();
            opts.log.warn(
              { err: cause, probe: err },
              'database unreachable: refusing requests with 503 until a probe succeeds',
            );
          }
          await pause(retryMs);
          timer = null;
          if (stopped) return;
        }
      }
      if (openSince === null) {
        opts.log.info({ err: cause }, 'a database connection was lost; the database still answers');
      } else {
        const downMs = Date.now() - openSince;
        openSince = null;
        opts.log.info({ downMs, probes: attempts, refused: refusedCount }, 'database reachable again');
      }
    } finally {
      probing = false;
    }
  };

  return {
    isOpen: () => openSince !== null,
    guard() {
      if (openSince === null) return;
      refusedCount++;
      throw databaseUnavailableError(new DatabaseMarkedDown('database marked down by the breaker'));
    },
    observe(err) {
      if (probing || stopped || !isDatabaseUnavailable(err)) return;
      void probeUntilUp(err);
    },
    refused: () => refusedCount,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
