import { RejectedError } from '../errors.js';

/** What checking one proof found: none sent, one that matches no secret, or one that matches. */
export type Verdict = 'ok' | 'missing' | 'mismatch';

/** A verdict from a check that also bounds the signature's age (`stale`: outside the window, with the skew). */
export type TimedVerdict =
  | { ok: true }
  | { ok: false; reason: Exclude<Verdict, 'ok'> | 'stale'; skewSec?: number | undefined };

/**
 * The one place a verdict becomes a rejection: `missing` → missing_signature (401), `mismatch` →
 * bad_signature (401), `stale` → stale_timestamp (401, with the skew for the rejection log).
 * `detail` goes to the rejection log with any of them; `ok` passes.
 */
export function enforceVerdict(
  verdict: Verdict | TimedVerdict,
  detail?: Record<string, string | number>,
): void {
  const timed: TimedVerdict =
    typeof verdict !== 'string' ? verdict : verdict === 'ok' ? { ok: true } : { ok: false, reason: verdict };
  if (timed.ok) return;
  if (timed.reason === 'missing') throw new RejectedError('missing_signature', detail);
  if (timed.reason === 'mismatch') throw new RejectedError('bad_signature', detail);
  throw new RejectedError('stale_timestamp', {
    ...detail,
    ...(timed.skewSec === undefined ? {} : { skewSec: timed.skewSec }),
  });
}
