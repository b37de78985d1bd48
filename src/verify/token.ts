import { createHash } from 'node:crypto';
import { safeEqualAny } from './compare.js';
import type { Verdict } from './verdict.js';

/** Hex SHA-256 of a token: what Redis keeps of a run-time trigger's token. */
export const tokenDigest = (token: string): string => createHash('sha256').update(token).digest('hex');

const digestLists = new WeakSet<readonly string[]>();

/**
 * A token list that holds digests (`tokenDigest`) instead of tokens: `verifyToken` then compares
 * the digest of the presented token. Marked like secret lists, so the account's type stays the one
 * the config gives and verification stays the channel's.
 */
export function tokenDigests(digests: readonly string[]): readonly string[] {
  const list = Object.freeze([...digests]);
  digestLists.add(list);
  return list;
}

/** True for a list made by `tokenDigests`: its tokens cannot be recovered (to sign a request, say). */
export const holdsDigests = (tokens: readonly string[]): boolean => digestLists.has(tokens);

/** A shared token sent as a header (Telegram's secret token, the generic `token` scheme, Meta's verify token). */
export function verifyToken(provided: string | undefined, tokens: readonly string[]): Verdict {
  if (provided === undefined || provided === '') return 'missing';
  const presented = holdsDigests(tokens) ? tokenDigest(provided) : provided;
  return safeEqualAny(presented, tokens) ? 'ok' : 'mismatch';
}

/** `Authorization: Bearer <token>` → token; anything else → undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}
