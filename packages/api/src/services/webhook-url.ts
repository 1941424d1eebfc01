/**
 * Is this URL acceptable as a tenant webhook target? https always; http only when the gateway
 * allows it (dev, tests: `TENANT_WEBHOOK_ALLOW_HTTP`, refused in production). SECURITY: no
 * credentials in the URL (they would end up in logs and stored rows).
 */
export function webhookUrlAllowed(url: string, allowHttp: boolean): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  return u.protocol === 'https:' || (allowHttp && u.protocol === 'http:');
}
