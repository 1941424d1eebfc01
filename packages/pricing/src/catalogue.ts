// A catalogue is an immutable, validated set of price rules keyed by model slug. The only ways to
// make one are createCatalogue and resolveCatalogue, so every rule a quote sees passed
// priceRuleSchema (including the built-in catalogue).
import type { z } from 'zod';
import { type PriceRule, type PriceRuleInput, priceRuleSchema } from './rule';

declare const catalogueBrand: unique symbol;

/** An immutable, validated set of price rules. Build with createCatalogue / resolveCatalogue. */
export interface Catalogue {
  /** Model slugs in catalogue order. */
  readonly models: readonly string[];
  /** The rules in catalogue order. */
  readonly rules: readonly PriceRule[];
  get(model: string): PriceRule | undefined;
  readonly [catalogueBrand]: true;
}

/** Thrown by createCatalogue / parsePriceRule / resolveCatalogue when a rule is not coherent. */
export class PriceRuleError extends TypeError {
  override readonly name = 'PriceRuleError';
  readonly issues: readonly { path: string; message: string }[];
  constructor(model: string, issues: readonly { path: string; message: string }[]) {
    super(
      `Invalid price rule for ${model}: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
    );
    this.issues = issues;
  }
}

// Rules that already passed priceRuleSchema and were frozen: reused as-is (and so keep their
// cached input schema) instead of being parsed again.
const validated = new WeakSet<object>();

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function formatIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(rule)',
    message: issue.message,
  }));
}

/**
 * Validates one rule (JSON form accepted: bigint as integer or decimal string) and returns it
 * frozen. Throws PriceRuleError naming the model and every problem found.
 */
export function parsePriceRule(rule: unknown): PriceRule {
  if (typeof rule === 'object' && rule !== null && validated.has(rule)) {
    return rule as PriceRule;
  }
  const result = priceRuleSchema.safeParse(rule);
  if (!result.success) {
    const model =
      typeof rule === 'object' && rule !== null && 'model' in rule && typeof rule.model === 'string'
        ? rule.model
        : '(unknown model)';
    throw new PriceRuleError(model, formatIssues(result.error));
  }
  const frozen = deepFreeze(result.data);
  validated.add(frozen);
  return frozen;
}

function build(rules: readonly PriceRule[]): Catalogue {
  const byModel = new Map<string, PriceRule>();
  for (const rule of rules) byModel.set(rule.model, rule);
  const catalogue = {
    models: Object.freeze([...byModel.keys()]),
    rules: Object.freeze([...byModel.values()]),
    get: (model: string) => byModel.get(model),
  };
  return Object.freeze(catalogue) as unknown as Catalogue;
}

/** Builds a catalogue from rules (validated here); throws PriceRuleError, or on a duplicate model. */
export function createCatalogue(rules: readonly (PriceRule | PriceRuleInput)[]): Catalogue {
  const parsed = rules.map(parsePriceRule);
  const seen = new Set<string>();
  for (const rule of parsed) {
    if (seen.has(rule.model)) {
      throw new PriceRuleError(rule.model, [{ path: 'model', message: 'appears twice in the catalogue' }]);
    }
    seen.add(rule.model);
  }
  return build(parsed);
}

/**
 * Applies runtime price overrides as of `at` (pure: the caller passes the clock). For each model,
 * the override with the latest `effectiveFrom` ≤ `at` replaces the base rule (on a tie, the one
 * later in `overrides` wins); overrides not yet effective are ignored; a model that exists only
 * in overrides becomes available once effective. The base rule's own effectiveFrom is informational.
 */
export function resolveCatalogue(
  base: Catalogue,
  overrides: readonly (PriceRule | PriceRuleInput)[],
  at: Date,
): Catalogue {
  const atMs = at.getTime();
  if (Number.isNaN(atMs)) throw new RangeError('resolveCatalogue needs a valid Date');
  const winners = new Map<string, PriceRule>();
  for (const override of overrides.map(parsePriceRule)) {
    const fromMs = Date.parse(override.effectiveFrom);
    if (fromMs > atMs) continue;
    const current = winners.get(override.model);
    if (current === undefined || Date.parse(current.effectiveFrom) <= fromMs) {
      winners.set(override.model, override);
    }
  }
  const rules = base.rules.map((rule) => winners.get(rule.model) ?? rule);
  for (const [model, rule] of winners) {
    if (base.get(model) === undefined) rules.push(rule);
  }
  return build(rules);
}
