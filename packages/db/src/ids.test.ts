import { describe, expect, it } from 'vitest';
import { newId } from './ids';

describe('newId', () => {
  it('is prefixed, 20 chars of [0-9a-z], and never repeats across pool refills', () => {
    const ids = Array.from({ length: 10_000 }, () => newId('job'));
    for (const id of ids) expect(id).toMatch(/^job_[0-9a-z]{20}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
