import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time string equality. Both sides are hashed first so neither the content nor the length
 * of the expected value leaks through timing.
 */
export function safeEqual(provided: string, expected: string): boolean {
  const a = createHash('sha256').update(provided).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && provided.length === expected.length;
}

/** True when `provided` equals any of `candidates`; every candidate is compared, so timing says nothing about which. */
export function safeEqualAny(provided: string, candidates: readonly string[]): boolean {
  let match = false;
  for (const candidate of candidates) match = safeEqual(provided, candidate) || match;
  return match;
}
