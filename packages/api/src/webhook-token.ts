import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * SECURITY: the webhook URL we give Pixelbyte carries `token = HMAC-SHA256(secret, jobId)`. Only
 * Pixelbyte (which received the URL) and we know it, so a valid token authenticates the callback
 * even though Pixelbyte's signature scheme is undocumented. The token is job-specific: leaking one
 * URL exposes nothing about other jobs. Checked in constant time.
 */
export function webhookToken(secret: string, jobId: string): string {
  return createHmac('sha256', secret).update(`pixelbyte-webhook:${jobId}`).digest('base64url');
}

export function verifyWebhookToken(secret: string, jobId: string, token: string | undefined): boolean {
  if (!token) return false;
  const expected = Buffer.from(webhookToken(secret, jobId));
  const given = Buffer.from(token);
  // Length differs → not equal; compare against itself anyway to keep timing independent of the guess.
  if (given.length !== expected.length) {
    timingSafeEqual(expected, expected);
    return false;
  }
  return timingSafeEqual(given, expected);
}

export function webhookUrlFor(publicBaseUrl: string, secret: string, jobId: string): string {
  return `${publicBaseUrl}/webhooks/pixelbyte/${encodeURIComponent(jobId)}?token=${webhookToken(secret, jobId)}`;
}
