// Catalogue listings for `models.list` and JSON Schema for clients that are not TypeScript.
import { z } from 'zod';
import type { Catalogue } from './catalogue';
import { defaultCatalogue } from './default-catalogue';
import { inputSchemaFor, type NormalizedInput, type ParamValue } from './input-schema';
import { priceValues } from './quote';
import { isPriced, type ModelCategory, type PriceRule, type PriceUnit } from './rule';

/** A JSON Schema document (draft 2020-12) describing a model's `input`. */
export type JsonSchema = Record<string, unknown>;

export interface ModelListing {
  model: string;
  name: string;
  category: ModelCategory;
  unit: PriceUnit;
  baseCostMicroCents: bigint;
  priceVersion: string;
  effectiveFrom: string;
  /** The quote for the model's defaults (markup included); required text inputs do not change it. */
  defaultCostMicroCents: bigint;
  inputJsonSchema: JsonSchema;
  /** How each priced param changes the price (params absent here do not). */
  priceFactors: Record<string, PriceFactor>;
}

/**
 * A priced param's effect: `quantity` = the value itself multiplies the price (seconds, images);
 * `factors` = value → exact decimal multiplier (a value not listed costs ×1; `null` = accepted but
 * not priced, so quoting it fails rather than being free).
 */
export type PriceFactor = {
  quantity?: true | undefined;
  factors?: Readonly<Record<string, string | null>> | undefined;
};

function priceFactorsOf(rule: PriceRule): Record<string, PriceFactor> {
  const out: Record<string, PriceFactor> = {};
  for (const [name, spec] of Object.entries(rule.params)) {
    if (!isPriced(spec)) continue;
    const factor: PriceFactor = {};
    if (spec.type === 'integer' && spec.quantity === true) factor.quantity = true;
    if ((spec.type === 'enum' || spec.type === 'integer' || spec.type === 'boolean') && spec.factors) {
      const entries = Object.entries(spec.factors).filter(([, f]) => f !== undefined);
      factor.factors = Object.fromEntries(entries) as Record<string, string | null>;
    }
    out[name] = factor;
  }
  return out;
}

const jsonSchemaCache = new WeakMap<PriceRule, JsonSchema>();

function deepFreeze(value: unknown): void {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
}

function jsonSchemaFor(rule: PriceRule): JsonSchema {
  const cached = jsonSchemaCache.get(rule);
  if (cached !== undefined) return cached;
  // io: 'input' describes what a caller may send (defaults make fields optional); the string
  // forms accepted for numbers/booleans are a tolerance and are not advertised.
  const schema = z.toJSONSchema(inputSchemaFor(rule), { io: 'input' }) as JsonSchema;
  // zod loses `default` behind the string-coercing preprocess, writes integer sets as "number" and
  // cannot describe a refine; restore them from the rule, which is the source of truth.
  const properties = schema.properties as Record<string, Record<string, unknown>> | undefined;
  for (const [name, spec] of Object.entries(rule.params)) {
    const property = properties?.[name];
    if (property === undefined) continue;
    if (spec.type === 'integer') property.type = 'integer';
    if ('default' in spec && spec.default !== undefined) property.default = spec.default;
    // Patterns are checked by a refine (linear-time matcher), which JSON Schema cannot show.
    if (spec.type === 'string' && spec.pattern !== undefined) property.pattern = spec.pattern;
  }
  deepFreeze(schema);
  jsonSchemaCache.set(rule, schema);
  return schema;
}

/** Default values of the rule's params (those that have one). */
function defaultValues(rule: PriceRule): NormalizedInput {
  const values: Record<string, ParamValue> = {};
  for (const [name, spec] of Object.entries(rule.params)) {
    if ('default' in spec && spec.default !== undefined) values[name] = spec.default;
  }
  return values;
}

function defaultCost(rule: PriceRule, markupBps: number): bigint {
  const priced = priceValues(rule, defaultValues(rule), markupBps);
  // A validated rule's defaults are always priced (priceRuleSchema checks it).
  if (!priced.ok) throw new TypeError(`Defaults of ${rule.model} are not priced`);
  return priced.costMicroCents;
}

/** The JSON Schema of a model's input, or undefined for a model not in the catalogue. */
export function modelInputJsonSchema(
  model: string,
  catalogue: Catalogue = defaultCatalogue,
): JsonSchema | undefined {
  const rule = catalogue.get(model);
  return rule === undefined ? undefined : jsonSchemaFor(rule);
}

/** Every model of the catalogue with its price facts, default cost (with markup) and input schema. */
export function listModels(
  catalogue: Catalogue = defaultCatalogue,
  options: { markupBps?: number | undefined } = {},
): ModelListing[] {
  const markupBps = options.markupBps ?? 0;
  if (!Number.isSafeInteger(markupBps) || markupBps < 0) {
    throw new RangeError('markupBps must be a non-negative integer number of basis points');
  }
  return catalogue.rules.map((rule) => ({
    model: rule.model,
    name: rule.name,
    category: rule.category,
    unit: rule.unit,
    baseCostMicroCents: rule.baseCostMicroCents,
    priceVersion: rule.priceVersion,
    effectiveFrom: rule.effectiveFrom,
    defaultCostMicroCents: defaultCost(rule, markupBps),
    inputJsonSchema: jsonSchemaFor(rule),
    priceFactors: priceFactorsOf(rule),
  }));
}
