// quote(): validate a model's input and price it exactly. Money decision: the whole price is one
// rational product — base × Π factors × (10000 + markupBps) / 10000 — rounded up once at the end,
// so no intermediate rounding can lose or invent a micro-cent and a price is never rounded down.
import type { z } from 'zod';
import type { Catalogue } from './catalogue';
import { defaultCatalogue } from './default-catalogue';
import { inputSchemaFor, type NormalizedInput, type ParamValue } from './input-schema';
import { ceil, formatRatio, multiply, ONE, parseDecimal, type Ratio } from './ratio';
import { isPriced, type PriceRule, type PriceUnit } from './rule';

const BPS_PER_UNIT = 10_000n;

export interface QuoteInput {
  /** A model slug of the catalogue. */
  model: string;
  /** The model's input; string forms of numbers/booleans are accepted. Omitted = {} (defaults). */
  input?: unknown;
  /** Operator markup in basis points (250 = 2.5%), a non-negative integer. Default 0. */
  markupBps?: number | bigint | undefined;
  /** Defaults to the built-in catalogue; pass resolveCatalogue(...) to apply overrides. */
  catalogue?: Catalogue | undefined;
}

/** One factor of the price. Multiplying every `factor` together gives the exact unrounded cost. */
export type BreakdownLine =
  | {
      kind: 'base';
      component: 'base';
      label: string;
      unit: PriceUnit;
      /** The base cost in micro-cents (per unit), as an exact integer string. */
      factor: string;
    }
  | {
      kind: 'param';
      /** The param name, e.g. "duration" or "resolution". */
      component: string;
      label: string;
      value: string | number | boolean;
      /** The quantity itself (duration seconds, num_images) or the value's multiplier, exact decimal. */
      factor: string;
    }
  | {
      kind: 'markup';
      component: 'markup';
      label: string;
      bps: number;
      /** (10000 + bps) / 10000 as an exact decimal, e.g. "1.025". */
      factor: string;
    };

export type QuoteErrorCode = 'UNKNOWN_MODEL' | 'INVALID_INPUT' | 'UNPRICED_VALUE';

export interface QuoteIssue {
  /** Dotted path of the offending field inside `input` ("duration", "image_urls.1"), or "markupBps". */
  path: string;
  message: string;
}

export interface QuoteError {
  code: QuoteErrorCode;
  /** One human-readable sentence naming the model and every problem. */
  message: string;
  issues?: QuoteIssue[];
}

export interface QuoteSuccess {
  ok: true;
  model: string;
  /** What the tenant pays: ceil(base × Π factors × (10000 + markupBps) / 10000). */
  costMicroCents: bigint;
  /** The upstream list price for the same input: ceil(base × Π factors), no markup. */
  listCostMicroCents: bigint;
  /** The exact unrounded cost (with markup) as a decimal string, e.g. "2562499.5". */
  exactCostMicroCents: string;
  breakdown: BreakdownLine[];
  priceVersion: string;
  effectiveFrom: string;
  markupBps: number;
  /** The input with defaults filled in and loose forms normalised: send exactly this upstream. */
  normalizedInput: NormalizedInput;
}

export type QuoteResult = QuoteSuccess | { ok: false; error: QuoteError };

function fail(code: QuoteErrorCode, message: string, issues?: QuoteIssue[]): QuoteResult {
  return { ok: false, error: issues === undefined ? { code, message } : { code, message, issues } };
}

function toIssues(error: z.ZodError): QuoteIssue[] {
  return error.issues.flatMap((issue): QuoteIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: [...issue.path, key].map(String).join('.'),
        message: 'is not a parameter of this model',
      }));
    }
    return [{ path: issue.path.map(String).join('.') || 'input', message: issue.message }];
  });
}

function describeIssues(issues: readonly QuoteIssue[]): string {
  return issues.map((issue) => `${issue.path} ${issue.message}`).join('; ');
}

function normaliseMarkup(markupBps: number | bigint | undefined): number | undefined {
  if (markupBps === undefined) return 0;
  if (typeof markupBps === 'bigint') {
    return markupBps >= 0n && markupBps <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(markupBps) : undefined;
  }
  return Number.isSafeInteger(markupBps) && markupBps >= 0 ? markupBps : undefined;
}

type Priced = { ok: true; lines: BreakdownLine[] } | { ok: false; issues: QuoteIssue[] };

/** The price lines of a rule for already-validated values (defaults filled in). */
export function priceLines(rule: PriceRule, values: NormalizedInput): Priced {
  const lines: BreakdownLine[] = [
    {
      kind: 'base',
      component: 'base',
      label: rule.name,
      unit: rule.unit,
      factor: rule.baseCostMicroCents.toString(),
    },
  ];
  const unpriced: QuoteIssue[] = [];
  for (const [name, spec] of Object.entries(rule.params)) {
    if (!isPriced(spec)) continue;
    const value: ParamValue | undefined = values[name];
    if (value === undefined || typeof value === 'object') {
      // Unreachable for a validated rule: priced params always have a default.
      unpriced.push({ path: name, message: 'has no value to price' });
      continue;
    }
    if (spec.type === 'integer' && spec.quantity === true) {
      lines.push({ kind: 'param', component: name, label: `${name} ${value}`, value, factor: String(value) });
      continue;
    }
    const table: Readonly<Record<string, string | null | undefined>> | undefined =
      spec.type === 'enum' || spec.type === 'integer' || spec.type === 'boolean' ? spec.factors : undefined;
    const key = String(value);
    // Own keys only: a value named like an Object.prototype member must not find a "factor" there.
    const factor = table !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
    if (factor === null) {
      unpriced.push({
        path: name,
        message: `value ${JSON.stringify(value)} is allowed but has no published price`,
      });
      continue;
    }
    // A value the param allows but the table omits costs factor 1 (pixelbyte-api.md: factors multiply,
    // a parameter value not in the table does not change the price).
    lines.push({
      kind: 'param',
      component: name,
      label: `${name} ${String(value)}`,
      value,
      factor: factor ?? '1',
    });
  }
  return unpriced.length > 0 ? { ok: false, issues: unpriced } : { ok: true, lines };
}

function product(lines: readonly BreakdownLine[]): Ratio {
  let total = ONE;
  for (const line of lines) total = multiply(total, parseDecimal(line.factor));
  return total;
}

function markupLine(markupBps: number): BreakdownLine {
  const factor = formatRatio({ num: BPS_PER_UNIT + BigInt(markupBps), den: BPS_PER_UNIT });
  return { kind: 'markup', component: 'markup', label: `markup ${markupBps} bps`, bps: markupBps, factor };
}

/** Prices already-validated values: list and marked-up cost from one exact product each. */
export function priceValues(
  rule: PriceRule,
  values: NormalizedInput,
  markupBps: number,
):
  | { ok: true; listCostMicroCents: bigint; costMicroCents: bigint; exact: Ratio; breakdown: BreakdownLine[] }
  | {
      ok: false;
      issues: QuoteIssue[];
    } {
  const priced = priceLines(rule, values);
  if (!priced.ok) return priced;
  const list = product(priced.lines);
  const breakdown = [...priced.lines, markupLine(markupBps)];
  const exact = multiply(list, { num: BPS_PER_UNIT + BigInt(markupBps), den: BPS_PER_UNIT });
  return { ok: true, listCostMicroCents: ceil(list), costMicroCents: ceil(exact), exact, breakdown };
}

/**
 * Validates `input` against the model's schema and prices it. Never throws for bad input: the
 * result is `{ ok: false, error }` with UNKNOWN_MODEL, INVALID_INPUT (unknown key, wrong type,
 * value outside the allowed set) or UNPRICED_VALUE (allowed by the rule but without a price).
 */
export function quote({ model, input, markupBps, catalogue = defaultCatalogue }: QuoteInput): QuoteResult {
  const rule = typeof model === 'string' ? catalogue.get(model) : undefined;
  if (rule === undefined) {
    return fail('UNKNOWN_MODEL', `Unknown model ${JSON.stringify(model)}: it is not in the price catalogue`);
  }
  const bps = normaliseMarkup(markupBps);
  if (bps === undefined) {
    const issues = [{ path: 'markupBps', message: 'must be a non-negative integer number of basis points' }];
    return fail('INVALID_INPUT', `Invalid markup for ${model}: ${describeIssues(issues)}`, issues);
  }
  const parsed = inputSchemaFor(rule).safeParse(input ?? {});
  if (!parsed.success) {
    const issues = toIssues(parsed.error);
    return fail('INVALID_INPUT', `Invalid input for ${model}: ${describeIssues(issues)}`, issues);
  }
  const normalizedInput = Object.freeze(parsed.data);
  const priced = priceValues(rule, normalizedInput, bps);
  if (!priced.ok) {
    return fail('UNPRICED_VALUE', `Cannot price ${model}: ${describeIssues(priced.issues)}`, priced.issues);
  }
  return {
    ok: true,
    model,
    costMicroCents: priced.costMicroCents,
    listCostMicroCents: priced.listCostMicroCents,
    exactCostMicroCents: formatRatio(priced.exact),
    breakdown: priced.breakdown,
    priceVersion: rule.priceVersion,
    effectiveFrom: rule.effectiveFrom,
    markupBps: bps,
    normalizedInput,
  };
}
