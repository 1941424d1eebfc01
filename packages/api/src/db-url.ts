/**
 * Adds postgres.js's `connect_timeout` (seconds) to a connection URL, unless the URL already sets
 * one (an operator's explicit URL wins). The pool is created by `@tollgate/db/client`, which reads
 * pool options from the URL's query string; going through the URL keeps that package untouched.
 */
export function withConnectTimeout(databaseUrl: string, timeoutMs: number): string {
  const query = databaseUrl.includes('?') ? databaseUrl.slice(databaseUrl.indexOf('?') + 1) : '';
  if (new URLSearchParams(query).has('connect_timeout')) return databaseUrl;
  const seconds = timeoutMs / 1000;
  return `${databaseUrl}${query === '' && !databaseUrl.endsWith('?') ? '?' : '&'}connect_timeout=${seconds}`;
}
