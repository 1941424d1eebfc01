import { describe, expect, it } from 'vitest';
import { withTimeout } from './processes';

const pendingTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('withTimeout', () => {
  it('answers the promise and leaves no timer running (a leftover one keeps the bench process alive)', async () => {
    const before = pendingTimers();
    await expect(withTimeout(Promise.resolve('ready'), 60_000, () => 'not ready')).resolves.toBe('ready');
    expect(pendingTimers()).toBe(before);
  });

  it('passes on a rejection and leaves no timer running', async () => {
    const before = pendingTimers();
    await expect(withTimeout(Promise.reject(new Error('exited')), 60_000, () => 'not ready')).rejects.toThrow(
      'exited',
    );
    expect(pendingTimers()).toBe(before);
  });

  it('rejects with the message when the promise never settles', async () => {
    await expect(
      withTimeout(new Promise<never>(() => {}), 5, () => 'simulator did not start'),
    ).rejects.toThrow('simulator did not start');
  });
});
