import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLoop } from './run-loop.ts';

const log = pino({ level: 'silent' });

/** Lets promise chains settle and runs the timers they set for "now" (Node makes a 0 ms timer 1 ms). */
async function settle() {
  for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(1);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('createLoop', () => {
  it('drains a backlog: a full batch is followed at once by the next pass, a short one waits the interval', async () => {
    vi.useFakeTimers();
    const handled = [10, 10, 10, 3, 2];
    let passes = 0;
    const loop = createLoop('test', 60_000, log, async () => handled[passes++] ?? 0, { batchSize: 10 });
    loop.start();
    await vi.advanceTimersByTimeAsync(60_000);
    await settle();
    // One interval: the first pass, the two full batches after it at once, then the short one.
    expect(passes).toBe(4);
    await vi.advanceTimersByTimeAsync(59_000 - 40);
    await settle();
    expect(passes, 'after a short batch the loop waits the interval again').toBe(4);
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    expect(passes).toBe(5);
    await loop.stop();
  });

  it('without a batch size every pass waits the interval', async () => {
    vi.useFakeTimers();
    let passes = 0;
    const loop = createLoop('test', 60_000, log, async () => {
      passes++;
      return 1_000;
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(60_000);
    await settle();
    expect(passes).toBe(1);
    await loop.stop();
  });
});
