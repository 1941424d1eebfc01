// Exact money helpers, re-exported from @tollgate/pricing so the client and the gateway can never
// disagree on how a dollar string maps to micro-cents (1,000,000 micro-cents = $1; bigint inside).
export {
  formatUsd,
  fromSafeNumber,
  MICRO_CENTS_PER_USD,
  parseUsd,
  toSafeNumber,
} from '@tollgate/pricing/money';
