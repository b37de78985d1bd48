import { safeEqualAny } from './compare.js';
import type { Verdict } from './verdict.js';

/** A shared token sent as a header (Telegram's secret token, the generic `token` scheme, Meta's verify token). */
export function verifyToken(provided: string | undefined, tokens: readonly string[]): Verdict {
  if (provided === undefined || provided === '') return 'missing';
  return safeEqualAny(provided, tokens) ? 'ok' : 'mismatch';
}

/** `Authorization: Bearer <token>` → token; anything else → undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}
