// Type tests: checked by `tsc -p .` (and executed as no-ops by vitest). They pin what tenant apps
// rely on: the inputs the main procedures accept and the outputs they get back.
import type { Reason as GatewayReason } from '@tollgate/api/reasons';
import { describe, expectTypeOf, it } from 'vitest';
import {
  createTollgateClient,
  type GatewayErrorData,
  type InsufficientCreditsError,
  type Job,
  type JobStatus,
  type RateLimitedError,
  type Reason,
  type RouterInputs,
  type RouterOutputs,
  type TollgateClient,
  type TollgateError,
  type TollgateReason,
  type ValidationError,
  type ValidationIssue,
} from './index.ts';

const client = createTollgateClient({ url: 'http://127.0.0.1:1', token: 't', retry: false });

describe('client types', () => {
  it('jobs.submit: input and output', () => {
    type SubmitInput = Parameters<TollgateClient['jobs']['submit']['mutate']>[0];
    expectTypeOf<SubmitInput>().toEqualTypeOf<RouterInputs['jobs']['submit']>();
    expectTypeOf<SubmitInput['model']>().toEqualTypeOf<string>();
    expectTypeOf<SubmitInput['input']>().toEqualTypeOf<Record<string, unknown>>();
    expectTypeOf<SubmitInput>().toHaveProperty('idempotencyKey');
    expectTypeOf<SubmitInput>().toHaveProperty('maxCostMicroCents');
    expectTypeOf<{ model: string; input: { prompt: string } }>().toExtend<SubmitInput>();
    // @ts-expect-error model is required
    expectTypeOf<{ input: Record<string, unknown> }>().toExtend<SubmitInput>();
    expectTypeOf(client.jobs.submit.mutate).returns.resolves.toEqualTypeOf<Job>();
  });

  it('the job shape of product.md', () => {
    expectTypeOf<Job['id']>().toEqualTypeOf<string>();
    expectTypeOf<Job['costMicroCents']>().toEqualTypeOf<number>();
    expectTypeOf<Job['refundedMicroCents']>().toEqualTypeOf<number>();
    expectTypeOf<Job['upstreamJobId']>().toEqualTypeOf<string | null>();
    expectTypeOf<Job['completedAt']>().toEqualTypeOf<string | null>();
    expectTypeOf<Job['tags']>().toEqualTypeOf<string[]>();
    expectTypeOf<JobStatus>().toEqualTypeOf<
      'submitting' | 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled' | 'rejected' | 'unknown'
    >();
  });

  it('jobs.get / jobs.list / account.get / pricing.quote / models.list', () => {
    expectTypeOf(client.jobs.get.query).parameter(0).toEqualTypeOf<{ id: string }>();
    expectTypeOf(client.jobs.get.query).returns.resolves.toEqualTypeOf<Job>();
    expectTypeOf<RouterOutputs['jobs']['list']['items']>().toEqualTypeOf<Job[]>();
    expectTypeOf<RouterOutputs['jobs']['list']>().toHaveProperty('nextCursor');
    type Account = RouterOutputs['account']['get'];
    expectTypeOf<Account['availableMicroCents']>().toEqualTypeOf<number>();
    expectTypeOf<Account['heldMicroCents']>().toEqualTypeOf<number>();
    expectTypeOf<Account['tenantId']>().toEqualTypeOf<string>();
    type Quote = RouterOutputs['pricing']['quote'];
    expectTypeOf<Quote['costMicroCents']>().toEqualTypeOf<number>();
    expectTypeOf<Quote['priceVersion']>().toEqualTypeOf<string>();
    expectTypeOf(client.pricing.quote.query)
      .parameter(0)
      .toEqualTypeOf<{ model: string; input: Record<string, unknown> }>();
    expectTypeOf<RouterOutputs['models']['list']['items'][number]['model']>().toEqualTypeOf<string>();
  });

  it('admin procedures', () => {
    type TopUp = RouterInputs['admin']['credits']['topUp'];
    expectTypeOf<TopUp['tenantId']>().toEqualTypeOf<string>();
    expectTypeOf<TopUp['idempotencyKey']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<RouterOutputs['admin']['credits']['topUp']['idempotencyKey']>().toEqualTypeOf<string>();
    expectTypeOf<RouterOutputs['admin']['tenants']['issueToken']['token']>().toEqualTypeOf<string>();
  });

  it('typed errors', () => {
    expectTypeOf<InsufficientCreditsError['requiredMicroCents']>().toEqualTypeOf<bigint | undefined>();
    expectTypeOf<InsufficientCreditsError['availableMicroCents']>().toEqualTypeOf<bigint | undefined>();
    expectTypeOf<RateLimitedError['retryAfterSeconds']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<ValidationError['issues']>().toEqualTypeOf<ValidationIssue[]>();
    expectTypeOf(client.waitForJob).returns.resolves.toEqualTypeOf<Job>();
  });

  it("reasons: the gateway's closed vocabulary, imported as a type", () => {
    expectTypeOf<Reason>().toEqualTypeOf<GatewayReason>();
    expectTypeOf<GatewayErrorData['reason']>().toEqualTypeOf<Reason>();
    expectTypeOf<TollgateError['reason']>().toEqualTypeOf<TollgateReason>();
    expectTypeOf<'INSUFFICIENT_BALANCE'>().toExtend<TollgateReason>();
    expectTypeOf<'NETWORK_ERROR' | 'HTTP_502'>().toExtend<TollgateReason>();
    // @ts-expect-error a reason the gateway does not have
    expectTypeOf<'INSUFFICIENT_CREDITS'>().toExtend<TollgateReason>();
  });
});
