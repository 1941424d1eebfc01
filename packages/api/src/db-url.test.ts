import { describe, expect, it } from 'vitest';
import { withConnectTimeout } from './db-url.ts';

describe('withConnectTimeout', () => {
  it('adds connect_timeout in seconds', () => {
    expect(withConnectTimeout('postgres://u:p@h:5432/db', 5_000)).toBe(
      'postgres://u:p@h:5432/db?connect_timeout=5',
    );
    expect(withConnectTimeout('postgres://u@h/db?sslmode=require', 1_500)).toBe(
      'postgres://u@h/db?sslmode=require&connect_timeout=1.5',
    );
  });

  it('keeps an explicit connect_timeout from the URL', () => {
    const url = 'postgres://u@h/db?connect_timeout=20';
    expect(withConnectTimeout(url, 5_000)).toBe(url);
  });
});
