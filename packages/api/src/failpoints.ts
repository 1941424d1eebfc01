/**
 * Fail points for the reliability suite (packages/api/test/reliability): a step name from
 * `TOLLGATE_FAILPOINT` (parsed by env.ts, handed over by serve.ts) makes this process SIGKILL itself
 * when the gateway reaches that step — no cleanup, no graceful shutdown, exactly like a power cut or
 * an OOM kill. Production never sets the variable; unarmed, `failpoint()` is one comparison.
 *
 * Spec: `<step>` (die the first time the step is reached) or `<step>@<n>` (die the n-th time, so some
 * jobs pass the step before the crash). `<step>[@<n>]:throw` throws instead, from the n-th hit on
 * (every later hit too), like a write the database keeps refusing: the process stays up and the
 * code after the step must handle the failure (e.g. the capture fallback of jobs.submit).
 */

/** Every step where the gateway can be killed. Names are part of the test contract. */
export const FAILPOINT_STEPS = [
  /** jobs.submit: the hold + job row committed, nothing sent upstream yet. */
  'after-hold-commit',
  /**
   * jobs.submit: Pixelbyte accepted (and charged the operator), capture not committed yet. Hit by
   * every capture attempt: with `:throw`, every attempt fails and the capture fallback runs.
   */
  'after-upstream-accept',
  /** jobs.submit: capture committed, the answer not sent to the tenant yet. */
  'after-capture-commit',
  /** webhook handler: authenticated and the job moved forward, the 200 not sent yet (Pixelbyte retries). */
  'in-webhook',
  /** poller: jobs claimed (next_poll_at bumped), not read upstream yet. */
  'in-poller',
] as const;

export type FailpointStep = (typeof FAILPOINT_STEPS)[number];

export type FailpointAction = 'kill' | 'throw';

let armed: { step: FailpointStep; remaining: number; action: FailpointAction } | null = null;

/** Parses a spec; throws a readable error on an unknown step (a typo must not silently disarm a test). */
export function parseFailpointSpec(spec: string): {
  step: FailpointStep;
  hit: number;
  action: FailpointAction;
} {
  const [point = '', action = 'kill'] = spec.trim().split(':');
  if (action !== 'kill' && action !== 'throw') throw new Error(`unknown fail point action in "${spec}"`);
  const [name = '', n] = point.split('@');
  const step = FAILPOINT_STEPS.find((s) => s === name);
  if (!step) throw new Error(`unknown fail point "${name}" (known: ${FAILPOINT_STEPS.join(', ')})`);
  const hit = n === undefined ? 1 : Number(n);
  if (!Number.isSafeInteger(hit) || hit < 1) throw new Error(`bad fail point hit count in "${spec}"`);
  return { step, hit, action };
}

/** Arms (spec) or disarms (undefined) the fail point of this process. */
export function configureFailpoints(spec: string | undefined): void {
  if (!spec) {
    armed = null;
    return;
  }
  const { step, hit, action } = parseFailpointSpec(spec);
  armed = { step, remaining: hit, action };
}

/** Marks a step; SIGKILLs this process (or throws) when it is the armed one (from its n-th hit). */
export function failpoint(step: FailpointStep): void {
  if (armed === null || armed.step !== step) return;
  armed.remaining -= 1;
  if (armed.remaining > 0) return;
  if (armed.action === 'throw') throw new Error(`FAILPOINT ${step}: injected failure`);
  process.stderr.write(`FAILPOINT ${step}: SIGKILL pid ${process.pid}\n`);
  process.kill(process.pid, 'SIGKILL');
}
