/**
 * Test mode's magic inputs (product.md, "Test mode"): a prompt (any string field of the input)
 * containing one of these makes the sandbox simulator produce that outcome on demand, so a tenant
 * can test its error handling. Only a simulator started with `magicInputs: true` reads them (the
 * gateway's sandbox); the dev-mode simulator and a real Pixelbyte treat them as plain text.
 */
export const MAGIC_INPUTS = {
  /** The job fails after processing (the gateway refunds it). */
  fail: '[tollgate:fail]',
  /** Refused at submit with a 400 (the gateway releases the hold: not charged). */
  reject: '[tollgate:reject]',
  /** Accepted, but the submit's answer is lost (the gateway holds, then resolves it). */
  unknown: '[tollgate:unknown]',
  /** Stays in processing for 60 s. */
  slow: '[tollgate:slow]',
} as const;

export type MagicInput = keyof typeof MAGIC_INPUTS;

/** How long `[tollgate:slow]` keeps a job processing. */
export const SLOW_PROCESSING_MS = 60_000;

/** The magic inputs present in any string value of `input` (top level; prompts are top-level strings). */
export function magicInputsOf(input: Record<string, unknown>): Set<MagicInput> {
  const found = new Set<MagicInput>();
  for (const value of Object.values(input)) {
    if (typeof value !== 'string') continue;
    for (const [name, marker] of Object.entries(MAGIC_INPUTS) as [MagicInput, string][]) {
      if (value.includes(marker)) found.add(name);
    }
  }
  return found;
}
