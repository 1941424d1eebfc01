// @tollgate/pricing — pure pricing for tollgate: the Pixelbyte model catalogue as data, per-model
// input schemas, exact quotes with breakdowns and markup, and exact USD ⇄ micro-cents helpers.
// No I/O, no environment, no clock: callers pass the catalogue and the time.

export {
  type Catalogue,
  createCatalogue,
  PriceRuleError,
  parsePriceRule,
  resolveCatalogue,
} from './catalogue';
export {
  DEFAULT_EFFECTIVE_FROM,
  DEFAULT_PRICE_RULES,
  DEFAULT_PRICE_VERSION,
  defaultCatalogue,
  MODEL_SLUGS,
  type ModelSlug,
} from './default-catalogue';
export { inputSchemaFor, type NormalizedInput, type ParamValue } from './input-schema';
export {
  compileLinearPattern,
  type LinearPattern,
  PATTERN_MAX_INPUT_LENGTH,
  UnsupportedPatternError,
} from './linear-regex';
export {
  type JsonSchema,
  listModels,
  type ModelListing,
  modelInputJsonSchema,
  type PriceFactor,
} from './models';
export { formatUsd, fromSafeNumber, MICRO_CENTS_PER_USD, parseUsd, toSafeNumber } from './money';
export {
  type BreakdownLine,
  type QuoteError,
  type QuoteErrorCode,
  type QuoteInput,
  type QuoteIssue,
  type QuoteResult,
  type QuoteSuccess,
  quote,
} from './quote';
export {
  MAX_MARKUP_BPS,
  type ModelCategory,
  maxQuoteMicroCents,
  type ParamSpec,
  type PriceRule,
  type PriceRuleInput,
  type PriceRuleJson,
  type PriceUnit,
  paramSpecSchema,
  priceRuleSchema,
  priceRuleToJson,
} from './rule';
