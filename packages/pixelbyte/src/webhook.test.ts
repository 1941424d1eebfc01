import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseWebhookPayload, signWebhook, verifyWebhookSignature } from './webhook.ts';

const secret = 'whsec_test';
const rawBody = '{"jobId":"job_abc123def456","status":"completed"}';
const now = 1_800_000_000;

describe('signWebhook', () => {
  it('is sha256= + hex HMAC of timestamp + "." + rawBody', () => {
    const expected = createHmac('sha256', secret).update(`${now}.${rawBody}`).digest('hex');
    expect(signWebhook({ secret, timestamp: now, rawBody })).toBe(`sha256=${expected}`);
  });
});

describe('verifyWebhookSignature', () => {
  const signed = {
    secret,
    rawBody,
    timestampHeader: String(now),
    signatureHeader: signWebhook({ secret, timestamp: now, rawBody }),
    nowSeconds: now,
  };

  it('accepts a valid signature, within the tolerance either way', () => {
    expect(verifyWebhookSignature(signed)).toEqual({ ok: true });
    expect(verifyWebhookSignature({ ...signed, nowSeconds: now + 300 })).toEqual({ ok: true });
    expect(verifyWebhookSignature({ ...signed, nowSeconds: now - 300 })).toEqual({ ok: true });
    expect(
      verifyWebhookSignature({
        ...signed,
        signatureHeader: signed.signatureHeader.toUpperCase().replace('SHA256=', 'sha256='),
      }),
    ).toEqual({ ok: true });
  });

  it('rejects a signature made with another secret', () => {
    const forged = signWebhook({ secret: 'whsec_other', timestamp: now, rawBody });
    expect(verifyWebhookSignature({ ...signed, signatureHeader: forged })).toEqual({
      ok: false,
      reason: 'MISMATCH',
    });
  });

  it('rejects a tampered body', () => {
    const tampered = rawBody.replace('completed', 'failed');
    expect(verifyWebhookSignature({ ...signed, rawBody: tampered })).toEqual({
      ok: false,
      reason: 'MISMATCH',
    });
    expect(verifyWebhookSignature({ ...signed, rawBody: `${rawBody} ` })).toEqual({
      ok: false,
      reason: 'MISMATCH',
    });
  });

  it('rejects a timestamp swapped for another one', () => {
    expect(
      verifyWebhookSignature({ ...signed, timestampHeader: String(now + 1), nowSeconds: now + 1 }),
    ).toEqual({
      ok: false,
      reason: 'MISMATCH',
    });
  });

  it('rejects a correctly signed but stale (or far-future) timestamp', () => {
    expect(verifyWebhookSignature({ ...signed, nowSeconds: now + 301 })).toEqual({
      ok: false,
      reason: 'STALE',
    });
    expect(verifyWebhookSignature({ ...signed, nowSeconds: now - 301 })).toEqual({
      ok: false,
      reason: 'STALE',
    });
    expect(verifyWebhookSignature({ ...signed, nowSeconds: now + 60, toleranceSeconds: 30 })).toEqual({
      ok: false,
      reason: 'STALE',
    });
  });

  it('reports missing headers', () => {
    expect(verifyWebhookSignature({ ...signed, signatureHeader: undefined })).toEqual({
      ok: false,
      reason: 'MISSING',
    });
    expect(verifyWebhookSignature({ ...signed, timestampHeader: undefined })).toEqual({
      ok: false,
      reason: 'MISSING',
    });
    expect(verifyWebhookSignature({ ...signed, signatureHeader: '' })).toEqual({
      ok: false,
      reason: 'MISSING',
    });
  });

  it.each([
    ['timestamp not an integer', { timestampHeader: '17e8' }],
    ['timestamp negative', { timestampHeader: '-5' }],
    ['no sha256= prefix', { signatureHeader: 'a'.repeat(64) }],
    ['other algorithm', { signatureHeader: `sha1=${'a'.repeat(40)}` }],
    ['short digest', { signatureHeader: `sha256=${'a'.repeat(63)}` }],
    ['non-hex digest', { signatureHeader: `sha256=${'g'.repeat(64)}` }],
  ])('reports a malformed header (%s)', (_, override) => {
    expect(verifyWebhookSignature({ ...signed, ...override })).toEqual({ ok: false, reason: 'MALFORMED' });
  });
});

describe('parseWebhookPayload', () => {
  it('reads the documented body, from an object or raw JSON text', () => {
    const body = {
      jobId: 'job_abc123def456',
      requestId: 'req_abc123',
      status: 'completed',
      output: { imageUrl: 'https://cdn/x.png', metadata: {} },
      completedAt: '2026-01-01T00:00:00Z',
    };
    expect(parseWebhookPayload(body)).toEqual(body);
    expect(parseWebhookPayload(JSON.stringify(body))).toEqual(body);
  });

  it('reads a failed job error, the wrapped envelope and snake_case ids', () => {
    expect(
      parseWebhookPayload({
        success: true,
        data: { job_id: 'job_1', status: 'failed', error: { code: 'X', message: 'boom' } },
      }),
    ).toEqual({ jobId: 'job_1', status: 'failed', error: { code: 'X', message: 'boom' } });
    expect(parseWebhookPayload({ jobId: 'job_2', error: 'boom' })).toEqual({
      jobId: 'job_2',
      error: { message: 'boom' },
    });
  });

  it('ignores fields of the wrong type and returns null for non-objects', () => {
    expect(parseWebhookPayload({ jobId: 42, status: null, extra: true })).toEqual({});
    for (const body of [null, undefined, 'not json', '[1]', 42, ['job_1']])
      expect(parseWebhookPayload(body)).toBeNull();
  });
});
