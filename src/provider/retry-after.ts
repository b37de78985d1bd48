/** Where a provider's headers come from: fetch's `Headers`, gaxios's Headers-like, a plain object, or the value itself. */
export type HeaderSource =
  | string
  | null
  | undefined
  | { get(name: string): string | null }
  | Readonly<Record<string, unknown>>;

const minMs = 1000;
/** A provider asking for more than an hour is treated as asking for an hour: the loop reports meanwhile. */
const maxMs = 3_600_000;

function headerValue(source: HeaderSource): string | undefined {
  if (source === null || source === undefined) return undefined;
  if (typeof source === 'string') return source;
  const value =
    typeof source.get === 'function'
      ? (source as { get(name: string): string | null }).get('retry-after')
      : (source as Readonly<Record<string, unknown>>)['retry-after'];
  return typeof value === 'string' ? value : undefined;
}

/**
 * A `Retry-After` header in milliseconds: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), clamped
 * to at least 1 s (a 0 would make a throttled loop spin) and at most an hour. Undefined when there
 * is none or it cannot be read: the caller then falls back to its own backoff.
 */
export function retryAfterMs(source: HeaderSource, nowMs = Date.now()): number | undefined {
  const raw = headerValue(source)?.trim();
  if (!raw) return undefined;
  let ms: number;
  if (/^\d+$/.test(raw)) ms = Number(raw) * 1000;
  else {
    // An HTTP-date starts with the day's name; Date.parse would also take "-3" as a year.
    const at = /^[A-Za-z]/.test(raw) ? Date.parse(raw) : Number.NaN;
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(maxMs, Math.max(minMs, ms));
}
