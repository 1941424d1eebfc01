// @tollgate/pixelbyte: the typed Pixelbyte client and webhook helpers. The simulator lives in
// `@tollgate/pixelbyte/simulator` so that importing the client never pulls in a server.

export type { PixelbyteClient, PixelbyteClientOptions } from './client.ts';
export { createPixelbyteClient, parseRetryAfter } from './client.ts';
export { DOCUMENTED_ERROR_STATUS } from './errors.ts';
export { parseJsonExact } from './exact-json.ts';
export { toMicroCents } from './schemas.ts';
export type {
  CancelJobResponse,
  EstimateRequest,
  EstimateResponse,
  ListJobsQuery,
  ListJobsResponse,
  PbResult,
  PixelbyteError,
  PixelbyteLocalErrorCode,
  PixelbyteOutcome,
  SubmitJobRequest,
  SubmitJobResponse,
  UpstreamJob,
  UpstreamJobError,
  UpstreamJobStatus,
  UpstreamJobSummary,
  UpstreamModel,
  UpstreamModelVersion,
  UpstreamOutput,
} from './types.ts';
export { isTerminalStatus, UPSTREAM_JOB_STATUSES } from './types.ts';
export type { WebhookPayload, WebhookVerification } from './webhook.ts';
export {
  parseWebhookPayload,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
} from './webhook.ts';
