/**
 * One reader for `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Takes a fetch
 * `Headers`, a Headers-like object (gaxios) or node's plain header object, and returns the wait in
 * ms, clamped to `[minMs, maxMs]` so a `0` cannot spin and a date years ahead cannot park a job for
 * good; undefined when the header is absent or unreadable.
 */
export interface RetryAfterLimits {
  /** Default 1 s. */
  readonly minMs?: number;
  /** Default 1 h. */
  readonly maxMs?: number;
}

type HeaderSource =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | null
  | undefined;

export function readRetryAfterMs(
  headers: HeaderSource,
  nowMs = Date.now(),
  { minMs = 1000, maxMs = 3_600_000 }: RetryAfterLimits = {},
): number | undefined {
  const raw =
    headers && typeof headers.get === 'function'
      ? (headers as { get(name: string): string | null }).get('retry-after')
      : (headers as Record<string, unknown> | null | undefined)?.['retry-after'];
  const value = (Array.isArray(raw) ? raw[0] : raw) as unknown;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  // Anything else numeric (-5, 1.5) is malformed; Date.parse would read "-5" as a year.
  else if (/^[\d.+-]+$/.test(text)) return undefined;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(maxMs, Math.max(minMs, ms));
}
