// Builds a model's zod input schema from its price rule (data → schema), cached per rule object.
// Upstream docs send numbers and booleans as strings ("5", "true"); the schemas accept both and
// normalise to real numbers/booleans, so the upstream later receives exactly what was priced.
import { z } from 'zod';
import { compileLinearPattern, PATTERN_MAX_INPUT_LENGTH } from './linear-regex';
import type { ParamSpec, PriceRule } from './rule';

/** A normalised input value as the upstream will receive it. */
export type ParamValue = string | number | boolean | readonly string[];
export type NormalizedInput = Readonly<Record<string, ParamValue>>;

const INTEGER_TEXT = /^-?(0|[1-9]\d*)$/;

/** "5" → 5; anything else passes through untouched so the inner schema reports it. */
function coerceInteger(value: unknown): unknown {
  return typeof value === 'string' && INTEGER_TEXT.test(value) ? Number(value) : value;
}

/** "true"/"false" → boolean; anything else passes through untouched. */
function coerceBoolean(value: unknown): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}

/** zod error callback: "is required" when the key is missing, else the given explanation. */
function message(text: string) {
  return (issue: { input?: unknown }): string => (issue.input === undefined ? 'is required' : text);
}

function describeAllowed(values: readonly (string | number)[]): string {
  return values.map((value) => JSON.stringify(value)).join(', ');
}

function integerSchema(spec: Extract<ParamSpec, { type: 'integer' }>): z.ZodType<number> {
  const notInteger = 'must be an integer (a number or a string of digits)';
  if (spec.values !== undefined) {
    const [first, ...rest] = spec.values;
    if (first === undefined) throw new TypeError('an integer allowed set cannot be empty');
    return z.literal([first, ...rest], {
      error: (issue) => {
        if (issue.input === undefined) return 'is required';
        return typeof issue.input === 'number' && Number.isInteger(issue.input)
          ? `must be one of ${describeAllowed(spec.values ?? [])}`
          : notInteger;
      },
    });
  }
  let schema = z
    .number({ error: message(notInteger) })
    .int({ error: notInteger })
    .refine(Number.isSafeInteger, notInteger);
  if (spec.min !== undefined) schema = schema.min(spec.min, `must be at least ${spec.min}`);
  if (spec.max !== undefined) schema = schema.max(spec.max, `must be at most ${spec.max}`);
  return schema;
}

function paramSchema(spec: ParamSpec): z.ZodType {
  switch (spec.type) {
    case 'enum': {
      const schema = z.enum(spec.values as [string, ...string[]], {
        error: message(`must be one of ${describeAllowed(spec.values)}`),
      });
      return spec.default === undefined ? schema : schema.default(spec.default);
    }
    case 'boolean': {
      const schema = z.preprocess(coerceBoolean, z.boolean({ error: message('must be true or false') }));
      return spec.default === undefined ? schema : schema.default(spec.default);
    }
    case 'integer': {
      const schema = z.preprocess(coerceInteger, integerSchema(spec));
      return spec.default === undefined ? schema : schema.default(spec.default);
    }
    case 'string': {
      let schema =
        spec.format === 'url'
          ? z.url({ protocol: /^https?$/, error: message('must be an absolute http(s) URL') })
          : z.string({ error: message('must be a string') });
      if (spec.minLength !== undefined)
        schema = schema.min(spec.minLength, `must have at least ${spec.minLength} characters`);
      if (spec.maxLength !== undefined)
        schema = schema.max(spec.maxLength, `must have at most ${spec.maxLength} characters`);
      if (spec.pattern !== undefined) {
        // Matched in linear time (linear-regex.ts), never by RegExp: an admin's pattern must not
        // let a tenant's input block the event loop. The input is bounded too (PATTERN_MAX_INPUT_LENGTH).
        const pattern = compileLinearPattern(spec.pattern);
        const limit = Math.min(spec.maxLength ?? PATTERN_MAX_INPUT_LENGTH, PATTERN_MAX_INPUT_LENGTH);
        if (spec.maxLength === undefined || spec.maxLength > limit)
          schema = schema.max(limit, `must have at most ${limit} characters`);
        schema = schema.refine(
          // Too long is already an issue of its own: not matched at all.
          (value) => value.length > limit || pattern.test(value),
          `must match ${spec.pattern}`,
        );
      }
      return schema;
    }
    case 'string-array': {
      let item =
        spec.format === 'url'
          ? z.url({ protocol: /^https?$/, error: message('must be an absolute http(s) URL') })
          : z.string({ error: message('must be a string') });
      if (spec.maxLength !== undefined)
        item = item.max(spec.maxLength, `must have at most ${spec.maxLength} characters`);
      let schema = z.array(item, { error: message('must be an array of strings') });
      if (spec.minItems !== undefined)
        schema = schema.min(spec.minItems, `must have at least ${spec.minItems} items`);
      if (spec.maxItems !== undefined)
        schema = schema.max(spec.maxItems, `must have at most ${spec.maxItems} items`);
      return schema;
    }
    default: {
      const unreachable: never = spec;
      return unreachable;
    }
  }
}

function withMeta(schema: z.ZodType, spec: ParamSpec): z.ZodType {
  const described = spec.description === undefined ? schema : schema.describe(spec.description);
  const hasDefault = 'default' in spec && spec.default !== undefined;
  return spec.required === true || hasDefault ? described : described.optional();
}

const cache = new WeakMap<PriceRule, z.ZodType<NormalizedInput>>();

/**
 * The strict zod schema for a model's `input`: unknown keys are rejected, loose forms ("5",
 * "true") normalised, defaults filled in. Cached per (frozen) rule object.
 */
export function inputSchemaFor(rule: PriceRule): z.ZodType<NormalizedInput> {
  const cached = cache.get(rule);
  if (cached !== undefined) return cached;
  const shape: Record<string, z.ZodType> = {};
  for (const [name, spec] of Object.entries(rule.params)) {
    shape[name] = withMeta(paramSchema(spec), spec);
  }
  const schema = z.strictObject(shape, {
    error: (issue) => (issue.code === 'invalid_type' ? 'input must be an object' : undefined),
  }) as unknown as z.ZodType<NormalizedInput>;
  cache.set(rule, schema);
  return schema;
}
