// A price rule is pure data: admins can price a new model at runtime by storing one as JSON.
// Everything else (input validation, JSON Schema, quotes) is derived from it, and every rule —
// the built-in catalogue included — goes through `priceRuleSchema` before it is used.
import { z } from 'zod';
import { compileLinearPattern, UnsupportedPatternError } from './linear-regex';
import { ceil, DECIMAL_PATTERN, multiply, ONE, parseDecimal, type Ratio } from './ratio';

/**
 * The largest markup a tenant can have (admin.tenants.create/update: 0..1,000,000 bps, ×101). The
 * API checks a price rule against it: its dearest quote must be exact on the wire for every tenant.
 */
export const MAX_MARKUP_BPS = 1_000_000;

/** Param names the breakdown reserves for its own lines. */
const RESERVED_PARAM_NAMES = new Set(['base', 'markup']);
const PARAM_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * A price multiplier as an exact decimal string ("1.5", "1.67"), or `null` for a value the model
 * accepts but whose price is not known: quoting that value fails with UNPRICED_VALUE, never free.
 */
const factorSchema = z
  .string()
  .max(32)
  .regex(DECIMAL_PATTERN, 'a factor is a decimal string such as "1.5"')
  .refine((text) => /[1-9]/.test(text), 'a factor of zero would make the job free')
  .nullable();

/** Value → factor. A value the param allows but that is absent here costs factor 1. */
const factorTableSchema = z.record(z.string(), factorSchema);

const description = z.string().max(500).optional();

const enumParamSchema = z.strictObject({
  type: z.literal('enum'),
  /** Allowed values, in display order. A value outside this list is INVALID_INPUT. */
  values: z.array(z.string().min(1).max(64)).min(1).max(100),
  factors: factorTableSchema.optional(),
  default: z.string().optional(),
  required: z.boolean().optional(),
  description,
});

const booleanParamSchema = z.strictObject({
  type: z.literal('boolean'),
  /** Keys are "true" / "false". */
  factors: z.strictObject({ true: factorSchema.optional(), false: factorSchema.optional() }).optional(),
  default: z.boolean().optional(),
  required: z.boolean().optional(),
  description,
});

const integerParamSchema = z.strictObject({
  type: z.literal('integer'),
  /** An explicit allowed set (e.g. durations 5, 10, 15); otherwise `min`..`max` applies. */
  values: z.array(z.number().int().refine(Number.isSafeInteger)).min(1).max(1000).optional(),
  min: z.number().int().refine(Number.isSafeInteger).optional(),
  max: z.number().int().refine(Number.isSafeInteger).optional(),
  /**
   * The value itself multiplies the price: duration in seconds for per-second models, num_images
   * for per-image models. Exactly one quantity param exists iff the unit is 'second' or 'image'.
   */
  quantity: z.boolean().optional(),
  /** Keys are the integer written in decimal ("30"). */
  factors: factorTableSchema.optional(),
  default: z.number().int().optional(),
  required: z.boolean().optional(),
  description,
});

const stringParamSchema = z.strictObject({
  type: z.literal('string'),
  /** 'url' requires an absolute http(s) URL. */
  format: z.literal('url').optional(),
  minLength: z.number().int().min(0).optional(),
  maxLength: z.number().int().min(1).max(100_000).optional(),
  /** A JavaScript regular expression (unicode mode) the whole value must match. */
  pattern: z.string().max(200).optional(),
  required: z.boolean().optional(),
  description,
});

const stringArrayParamSchema = z.strictObject({
  type: z.literal('string-array'),
  format: z.literal('url').optional(),
  minItems: z.number().int().min(0).optional(),
  maxItems: z.number().int().min(1).max(100).optional(),
  maxLength: z.number().int().min(1).max(100_000).optional(),
  required: z.boolean().optional(),
  description,
});

export const paramSpecSchema = z.discriminatedUnion('type', [
  enumParamSchema,
  booleanParamSchema,
  integerParamSchema,
  stringParamSchema,
  stringArrayParamSchema,
]);

/** Base cost as bigint, a safe integer, or a decimal integer string (JSON has no bigint). */
const microCentsSchema = z
  .union([
    z.bigint(),
    z.number().int().refine(Number.isSafeInteger, 'not a safe integer; send large amounts as a string'),
    z.string().regex(/^\d{1,30}$/, 'an integer number of micro-cents'),
  ])
  .transform((value) => BigInt(value))
  .refine((value) => value > 0n, 'base cost must be positive: a model is never free');

const baseRuleSchema = z.strictObject({
  /** The Pixelbyte slug, e.g. "openai/sora-2/text-to-video"; the slug alone decides the price. */
  model: z.string().regex(/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*){1,3}$/, 'a Pixelbyte model slug'),
  name: z.string().min(1).max(200),
  category: z.enum(['video', 'image']),
  /** What the base cost is per: one second of output, one image, or one request. */
  unit: z.enum(['second', 'image', 'request']),
  baseCostMicroCents: microCentsSchema,
  /** Recorded with every quote so a charge can be traced to the exact price list it used. */
  priceVersion: z.string().min(1).max(100),
  /** ISO 8601 UTC instant from which this rule applies (see resolveCatalogue). */
  effectiveFrom: z.iso.datetime(),
  params: z.record(z.string(), paramSpecSchema),
});

type ParamSpecShape = z.output<typeof paramSpecSchema>;

function factorKeysOf(spec: ParamSpecShape): string[] {
  return spec.type === 'enum' || spec.type === 'integer' || spec.type === 'boolean'
    ? Object.keys(spec.factors ?? {})
    : [];
}

/** Whether the param changes the price (so it must resolve to a value: a default is required). */
export function isPriced(spec: ParamSpecShape): boolean {
  return (spec.type === 'integer' && spec.quantity === true) || factorKeysOf(spec).length > 0;
}

function checkParam(name: string, spec: ParamSpecShape, issue: (message: string) => void): void {
  if (!PARAM_NAME.test(name) || RESERVED_PARAM_NAMES.has(name)) {
    issue(`param name "${name}" must be snake_case and not "base" or "markup"`);
  }
  if (isPriced(spec) && !('default' in spec && spec.default !== undefined)) {
    issue(`priced param "${name}" needs a default so that a quote always knows its value`);
  }
  switch (spec.type) {
    case 'enum': {
      const allowed = new Set(spec.values);
      if (allowed.size !== spec.values.length) issue(`param "${name}" lists a value twice`);
      for (const key of factorKeysOf(spec)) {
        if (!allowed.has(key)) issue(`param "${name}" prices "${key}", which is not in its values`);
      }
      if (spec.default !== undefined) {
        if (!allowed.has(spec.default))
          issue(`param "${name}" default "${spec.default}" is not in its values`);
        if (spec.factors?.[spec.default] === null)
          issue(`param "${name}" default "${spec.default}" has no price`);
      }
      return;
    }
    case 'boolean': {
      if (spec.default !== undefined && spec.factors?.[`${spec.default}`] === null) {
        issue(`param "${name}" default ${spec.default} has no price`);
      }
      return;
    }
    case 'integer': {
      const hasSet = spec.values !== undefined;
      const hasRange = spec.min !== undefined && spec.max !== undefined;
      if (spec.quantity === true || factorKeysOf(spec).length > 0) {
        if (!hasSet && !hasRange) issue(`priced param "${name}" needs an allowed set or both min and max`);
      }
      if (hasSet && (spec.min !== undefined || spec.max !== undefined)) {
        issue(`param "${name}" has both an allowed set and a range; use one`);
      }
      if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max) {
        issue(`param "${name}" has min > max`);
      }
      if (spec.values !== undefined && new Set(spec.values).size !== spec.values.length) {
        issue(`param "${name}" lists a value twice`);
      }
      const allows = (value: number): boolean =>
        spec.values !== undefined
          ? spec.values.includes(value)
          : (spec.min === undefined || value >= spec.min) && (spec.max === undefined || value <= spec.max);
      if (spec.quantity === true) {
        if (factorKeysOf(spec).length > 0) issue(`quantity param "${name}" cannot also have factors`);
        const smallest = spec.values !== undefined ? Math.min(...spec.values) : spec.min;
        if (smallest === undefined || smallest < 1)
          issue(`quantity param "${name}" must not allow values below 1`);
      }
      for (const key of factorKeysOf(spec)) {
        if (!/^-?\d+$/.test(key) || !allows(Number(key))) {
          issue(`param "${name}" prices "${key}", which it does not allow`);
        }
      }
      if (spec.default !== undefined) {
        if (!allows(spec.default)) issue(`param "${name}" default ${spec.default} is not allowed`);
        if (spec.factors?.[String(spec.default)] === null)
          issue(`param "${name}" default ${spec.default} has no price`);
      }
      return;
    }
    case 'string': {
      if (spec.pattern !== undefined) {
        try {
          compileLinearPattern(spec.pattern);
        } catch (err) {
          issue(
            err instanceof UnsupportedPatternError
              ? `param "${name}" pattern cannot be matched in linear time: ${err.message} (patterns are matched by a linear-time engine; rewrite it without that construct)`
              : `param "${name}" pattern is not a valid regular expression`,
          );
        }
      }
      if (spec.minLength !== undefined && spec.maxLength !== undefined && spec.minLength > spec.maxLength) {
        issue(`param "${name}" has minLength > maxLength`);
      }
      return;
    }
    case 'string-array': {
      if (spec.minItems !== undefined && spec.maxItems !== undefined && spec.minItems > spec.maxItems) {
        issue(`param "${name}" has minItems > maxItems`);
      }
      return;
    }
    default: {
      const unreachable: never = spec;
      throw new TypeError(`unknown param type ${JSON.stringify(unreachable)}`);
    }
  }
}

const greater = (a: Ratio, b: Ratio): boolean => a.num * b.den > b.num * a.den;

/**
 * The largest factor a param can put in a quote: its largest allowed quantity, or the largest
 * factor among its allowed values (a value the table omits costs 1; an unpriced one, null, cannot
 * be quoted). undefined when the spec itself is incoherent (reported by checkParam).
 */
function maxParamFactor(spec: ParamSpecShape): Ratio | undefined {
  if (!isPriced(spec)) return ONE;
  if (spec.type === 'integer' && spec.quantity === true) {
    const largest = spec.values !== undefined ? Math.max(...spec.values) : spec.max;
    return largest === undefined ? undefined : { num: BigInt(largest), den: 1n };
  }
  const table: Readonly<Record<string, string | null | undefined>> =
    spec.type === 'enum' || spec.type === 'integer' || spec.type === 'boolean' ? (spec.factors ?? {}) : {};
  let allowed: string[] | undefined;
  if (spec.type === 'enum') allowed = spec.values;
  else if (spec.type === 'boolean') allowed = ['true', 'false'];
  else if (spec.type === 'integer' && spec.values !== undefined) allowed = spec.values.map(String);
  let max: Ratio | undefined;
  const consider = (f: Ratio) => {
    if (max === undefined || greater(f, max)) max = f;
  };
  if (allowed !== undefined) {
    for (const value of allowed) {
      const factor = Object.hasOwn(table, value) ? table[value] : '1';
      if (factor !== null && factor !== undefined) consider(parseDecimal(factor));
    }
  } else {
    // An integer range: its values outside the table cost 1, unless the table covers them all.
    if (spec.type !== 'integer' || spec.min === undefined || spec.max === undefined) return undefined;
    const { min, max: top } = spec;
    const keys = Object.keys(table).filter((k) => /^-?\d+$/.test(k) && Number(k) >= min && Number(k) <= top);
    if (BigInt(keys.length) < BigInt(top) - BigInt(min) + 1n) consider(ONE);
    for (const key of keys) {
      const factor = table[key];
      if (factor !== null && factor !== undefined) consider(parseDecimal(factor));
    }
  }
  return max;
}

/**
 * The dearest quote a validated rule can produce, micro-cents, at the largest markup
 * (MAX_MARKUP_BPS): ceil(base × Π largest factors × (10000 + MAX_MARKUP_BPS) / 10000). Exact
 * (bigint): the API checks it against the safe-integer range of JSON numbers before storing a rule.
 */
export function maxQuoteMicroCents(rule: PriceRule): bigint | undefined {
  let total: Ratio = { num: rule.baseCostMicroCents, den: 1n };
  for (const spec of Object.values(rule.params)) {
    const factor = maxParamFactor(spec);
    if (factor === undefined) return undefined;
    total = multiply(total, factor);
  }
  return ceil(multiply(total, { num: 10_000n + BigInt(MAX_MARKUP_BPS), den: 10_000n }));
}

/**
 * Parses one price rule from JSON-like data (bigint amounts may be written as integers or decimal
 * strings) and checks it is coherent: defaults allowed and priced, factor tables only for allowed
 * values, exactly one quantity param for per-second / per-image units. Use it on admin overrides.
 */
export const priceRuleSchema = baseRuleSchema.superRefine((rule, ctx) => {
  const names = Object.keys(rule.params);
  if (names.length > 50) {
    ctx.addIssue({ code: 'custom', path: ['params'], message: 'a model has at most 50 params' });
  }
  for (const name of names) {
    const spec = rule.params[name];
    if (spec === undefined) continue;
    checkParam(name, spec, (message) => ctx.addIssue({ code: 'custom', path: ['params', name], message }));
  }
  const quantityParams = names.filter((name) => {
    const spec = rule.params[name];
    return spec?.type === 'integer' && spec.quantity === true;
  });
  const wanted = rule.unit === 'request' ? 0 : 1;
  if (quantityParams.length !== wanted) {
    ctx.addIssue({
      code: 'custom',
      path: ['params'],
      message:
        rule.unit === 'request'
          ? 'a per-request model has no quantity param'
          : `a per-${rule.unit} model needs exactly one quantity param (found ${quantityParams.length})`,
    });
  }
});

/** A validated price rule (output of priceRuleSchema): `baseCostMicroCents` is a bigint. */
export type PriceRule = z.output<typeof priceRuleSchema>;
/** What priceRuleSchema accepts: the JSON form of a rule. */
export type PriceRuleInput = z.input<typeof priceRuleSchema>;
/** One declarative parameter of a model: enum, boolean, integer, string or string-array. */
export type ParamSpec = PriceRule['params'][string];
export type PriceUnit = PriceRule['unit'];
export type ModelCategory = PriceRule['category'];

/** The JSON form of a rule (bigint as a decimal string), e.g. for storing an override. */
export type PriceRuleJson = Omit<PriceRule, 'baseCostMicroCents'> & { baseCostMicroCents: string };

export function priceRuleToJson(rule: PriceRule): PriceRuleJson {
  return { ...rule, baseCostMicroCents: rule.baseCostMicroCents.toString() };
}
