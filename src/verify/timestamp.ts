export type TimestampVerdict = { ok: true } | { ok: false; reason: 'invalid' | 'stale'; skewSec?: number };

/**
 * A signed timestamp (seconds since the epoch) must lie within `toleranceSec` of `nowMs`, either way.
 * The skew is returned on failure so the rejection log can show a constant clock offset.
 */
export function checkTimestamp(
  value: string | undefined,
  nowMs: number,
  toleranceSec: number,
): TimestampVerdict {
  if (!value || !/^\d{1,12}$/.test(value)) return { ok: false, reason: 'invalid' };
  const skewSec = Math.round(nowMs / 1000) - Number(value);
  if (Math.abs(skewSec) > toleranceSec) return { ok: false, reason: 'stale', skewSec };
  return { ok: true };
}
