import { describe, expect, expectTypeOf, it } from 'vitest';
import type { JobStatus, RouterInputs } from '../client.ts';
import {
  isoArg,
  JOB_STATUSES,
  oneOf,
  parseAmountArg,
  parseParams,
  type USAGE_DIMENSIONS,
} from './commands.ts';
import { UsageError } from './exit-codes.ts';
import type { DeliveryType, WEBHOOK_EVENT_TYPES } from './webhook-commands.ts';

describe('CLI argument parsing', () => {
  it('parses USD amounts exactly', () => {
    const pos = { allowNegative: false };
    expect(parseAmountArg('12.50', [], pos)).toBe(12_500_000n);
    expect(parseAmountArg('$1000', [], pos)).toBe(1_000_000_000n);
    expect(parseAmountArg('0.000001', [], pos)).toBe(1n);
    expect(parseAmountArg('0.1', [], pos) + parseAmountArg('0.2', [], pos)).toBe(300_000n);
    expect(parseAmountArg('-2.50', [], { allowNegative: true })).toBe(-2_500_000n);
    for (const bad of ['12.5000001', 'abc', '1e3', '0', '-1', '1,000']) {
      expect(() => parseAmountArg(bad, ['credits', 'topup'], pos), bad).toThrow(UsageError);
    }
  });

  it('builds model input from --input JSON and --param pairs', () => {
    expect(parseParams(['prompt=a red fox', 'duration=8', 'has_sound=true'], '{"seed":1}', [])).toEqual({
      seed: 1,
      prompt: 'a red fox',
      duration: 8,
      has_sound: true,
    });
    expect(() => parseParams(['novalue'], undefined, [])).toThrow(/key=value/);
    expect(() => parseParams([], '[1]', [])).toThrow(/JSON object/);
    expect(() => parseParams([], '{', [])).toThrow(/not valid JSON/);
  });

  it('reads report dates as UTC days or ISO times', () => {
    expect(isoArg('2025-01-31', '--from', [])).toBe('2025-01-31T00:00:00.000Z');
    expect(isoArg('2025-01-31T12:00:00+02:00', '--to', [])).toBe('2025-01-31T10:00:00.000Z');
    expect(() => isoArg('yesterday', '--from', [])).toThrow(UsageError);
    expect(() => isoArg(undefined, '--from', [])).toThrow(/--from is required/);
  });

  it('checks choice flags locally, and the choices match the gateway (type test)', () => {
    expect(oneOf('failed', JOB_STATUSES, '--status', [])).toBe('failed');
    expect(oneOf(undefined, JOB_STATUSES, '--status', [])).toBeUndefined();
    expect(() => oneOf('done', JOB_STATUSES, '--status', ['jobs', 'list'])).toThrow(
      /--status must be one of submitting, pending.*; got "done"/,
    );
    expectTypeOf<(typeof JOB_STATUSES)[number]>().toEqualTypeOf<JobStatus>();
    expectTypeOf<(typeof WEBHOOK_EVENT_TYPES)[number]>().toEqualTypeOf<DeliveryType>();
    expectTypeOf<(typeof USAGE_DIMENSIONS)[number]>().toEqualTypeOf<
      NonNullable<RouterInputs['finance']['usage']['groupBy']>[number]
    >();
  });
});
