import { describe, expect, it } from 'vitest';
import { verifyWebhookToken, webhookToken, webhookUrlFor } from './webhook-token.ts';

const SECRET = 'token-secret-0123456789abcdef0123456789';

describe('webhook URL tokens', () => {
  it('verifies only the token of the same job under the same secret', () => {
    const t = webhookToken(SECRET, 'job_a');
    expect(verifyWebhookToken(SECRET, 'job_a', t)).toBe(true);
    expect(verifyWebhookToken(SECRET, 'job_b', t)).toBe(false);
    expect(verifyWebhookToken('another-secret-0123456789abcdef012345', 'job_a', t)).toBe(false);
    expect(verifyWebhookToken(SECRET, 'job_a', undefined)).toBe(false);
    expect(verifyWebhookToken(SECRET, 'job_a', `${t}x`)).toBe(false);
    expect(verifyWebhookToken(SECRET, 'job_a', '')).toBe(false);
  });

  it('builds the URL handed to Pixelbyte', () => {
    expect(webhookUrlFor('https://gw.example.com', SECRET, 'job_a')).toBe(
      `https://gw.example.com/webhooks/pixelbyte/job_a?token=${webhookToken(SECRET, 'job_a')}`,
    );
  });
});
