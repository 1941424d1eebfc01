import { describe, expect, it, vi } from 'vitest';
import { createDbBreaker } from './db-breaker.ts';
import { DomainError } from './errors.ts';
import { createLogger } from './logger.ts';

// The breaker's own states, with a probe the test answers. End to end (a real pool cut off from
// Postgres by a TCP proxy) in test/db-breaker.test.ts.

const log = createLogger({ level: 'silent' });
const lostConnection = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

/** A probe whose answers the test gives one at a time. */
function scriptedProbe() {
  const pending: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  let calls = 0;
  return {
    probe: () => {
      calls++;
      return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
    },
    calls: () => calls,
    async next() {
      while (pending.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      return pending.shift() as { resolve: () => void; reject: (err: unknown) => void };
    },
  };
}

async function until(cond: () => boolean) {
  for (let i = 0; i < 2_000 && !cond(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
  expect(cond()).toBe(true);
}

describe('db breaker', () => {
  it('a lost connection starts a probe; a failed probe opens it; an answered probe closes it', async () => {
    const p = scriptedProbe();
    const breaker = createDbBreaker({ probe: p.probe, log, retryMs: 1 });
    breaker.observe(Object.assign(new Error('duplicate key'), { code: '23505' }));
    breaker.observe(new DomainError({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT', message: 'no' }));
    expect(p.calls(), 'query errors are not lost connections').toBe(0);

    breaker.observe(lostConnection());
    expect(breaker.isOpen(), 'suspect, not yet open: requests still flow').toBe(false);
    expect(() => breaker.guard()).not.toThrow();
    (await p.next()).reject(lostConnection()); // the probe fails too: down
    await until(() => breaker.isOpen());
    let refusal: unknown;
    try {
      breaker.guard();
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'DATABASE_UNAVAILABLE' });
    // Its own refusal is not a lost connection: observing it changes nothing.
    breaker.observe(refusal);
    expect(breaker.refused()).toBe(1);

    (await p.next()).reject(lostConnection()); // still down: probe again
    expect(breaker.isOpen()).toBe(true);
    breaker.observe(lostConnection()); // more failures while probing: still one probe at a time
    (await p.next()).resolve();
    await until(() => !breaker.isOpen());
    expect(p.calls()).toBe(3);
    breaker.stop();
  });

  it('a blip (one dropped connection, the probe answers) never refuses anything', async () => {
    const p = scriptedProbe();
    const breaker = createDbBreaker({ probe: p.probe, log, retryMs: 1 });
    breaker.observe(lostConnection());
    expect(() => breaker.guard()).not.toThrow();
    (await p.next()).resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(breaker.isOpen()).toBe(false);
    expect(breaker.refused()).toBe(0);
    breaker.observe(lostConnection()); // a later blip is probed again
    (await p.next()).resolve();
    expect(p.calls()).toBe(2);
    breaker.stop();
  });

  it('a probe that never answers counts as failed, and the next one closes the breaker', async () => {
    const answers: (() => Promise<void>)[] = [
      () => new Promise<void>(() => {}), // a dead connection: no answer, no error
      async () => {},
    ];
    const breaker = createDbBreaker({
      probe: () => (answers.shift() as () => Promise<void>)(),
      log,
      retryMs: 1,
      probeTimeoutMs: 20,
    });
    breaker.observe(lostConnection());
    await until(() => answers.length === 0 && !breaker.isOpen());
    breaker.stop();
  });

  it('a probe answered with a query error means the database is reachable: the breaker closes', async () => {
    const p = scriptedProbe();
    const breaker = createDbBreaker({ probe: p.probe, log, retryMs: 1 });
    breaker.observe(lostConnection());
    (await p.next()).reject(lostConnection());
    await until(() => breaker.isOpen());
    (await p.next()).reject(Object.assign(new Error('permission denied'), { code: '42501' }));
    await until(() => !breaker.isOpen());
    breaker.stop();
  });

  it('stops probing when stopped', async () => {
    vi.useFakeTimers();
    try {
      let calls = 0;
      const breaker = createDbBreaker({
        probe: async () => {
          calls++;
          throw lostConnection();
        },
        log,
        retryMs: 100,
      });
      breaker.observe(lostConnection());
      await vi.advanceTimersByTimeAsync(250); // the first probe and two retries
      expect(calls).toBe(3);
      breaker.stop();
      await vi.advanceTimersByTimeAsync(10_000);
      expect(calls, 'no probe after stop').toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
