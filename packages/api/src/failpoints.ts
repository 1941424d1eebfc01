/**
 * Fail points for the reliability suite (packages/api/test/reliability): a step name from
 * `TOLLGATE_FAILPOINT` (parsed by env.ts, handed over by serve.ts) makes this process SIGKILL itself
 * when the gateway reaches that step — no cleanup, no graceful shutdown, exactly like a power cut or
 * an OOM kill. Production never sets the variable; unarmed, `failpoint()` is one comparison.
 *
 * Spec: `<step>` (die the first time the step is reached) or `<step>@<n>` (die the n-th time, so some
 * jobs pass the step before the crash).
 */

/** Every step where the gateway can be killed. Names are part of the test contract. */
export const FAILPOINT_STEPS = [
  /** jobs.submit: the hold + job row committed, nothing sent upstream yet. */
  'after-hold-commit',
  /** jobs.submit: Pixelbyte accepted (and charged the operator), capture not committed yet. */
  'after-upstream-accept',
  /** jobs.submit: capture committed, the answer not sent to the tenant yet. */
  'after-capture-commit',
  /** webhook handler: authenticated and the job moved forward, the 200 not sent yet (Pixelbyte retries). */
  'in-webhook',
  /** poller: jobs claimed (next_poll_at bumped), not read upstream yet. */
  'in-poller',
] as const;

export type FailpointStep = (typeof FAILPOINT_STEPS)[number];

let armed: { step: FailpointStep; remaining: number } | null = null;

/** Parses a spec; throws a readable error on an unknown step (a typo must not silently disarm a test). */
export function parseFailpointSpec(spec: string): { step: FailpointStep; hit: number } {
  const [name = '', n] = spec.trim().split('@');
  const step = FAILPOINT_STEPS.find((s) => s === name);
  if (!step) throw new Error(`unknown fail point "${name}" (known: ${FAILPOINT_STEPS.join(', ')})`);
  const hit = n === undefined ? 1 : Number(n);
  if (!Number.isSafeInteger(hit) || hit < 1) throw new Error(`bad fail point hit count in "${spec}"`);
  return { step, hit };
}

/** Arms (spec) or disarms (undefined) the fail point of this process. */
export function configureFailpoints(spec: string | undefined): void {
  if (!spec) {
    armed = null;
    return;
  }
  const { step, hit } = parseFailpointSpec(spec);
  armed = { step, remaining: hit };
}

/** Marks a step; SIGKILLs this process when it is the armed one (on its n-th hit). */
export function failpoint(step: FailpointStep): void {
  if (armed === null || armed.step !== step) return;
  armed.remaining -= 1;
  if (armed.remaining > 0) return;
  process.stderr.write(`FAILPOINT ${step}: SIGKILL pid ${process.pid}\n`);
  process.kill(process.pid, 'SIGKILL');
}
