import {
  createRemoteJWKSet,
  errors,
  importX509,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  type KeyObject,
} from 'jose';
import { errorMessage, UnavailableError } from '../errors.js';

/**
 * JWT verification for the channels that send `Authorization: Bearer <JWT>` (Bot Framework, Google
 * Chat, Graph validation tokens). Keys come from a JWKS URL or from Google's x509 map (kid → PEM);
 * both refetch when an unknown `kid` appears; share one per URL with `keySetAt` (key-sets.ts).
 */
export interface JwtRules {
  readonly issuer: string | readonly string[];
  readonly audience: string | readonly string[];
  readonly algorithms: readonly string[];
  readonly clockToleranceSec: number;
}

export type JwtVerdict =
  | { ok: true; payload: JWTPayload; header: { kid?: string | undefined; alg: string } }
  | { ok: false; reason: 'missing' | 'invalid' | 'expired' };

export function jwksKeySet(url: string): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(url), { cooldownDuration: 30_000, cacheMaxAge: 6 * 3600_000 });
}

type VerifyKey = KeyObject | Awaited<ReturnType<typeof importX509>>;

/** Google publishes some signing keys as a JSON map of kid → x509 PEM certificate. */
export function x509KeySet(url: string, fetchImpl: typeof fetch = fetch): JWTVerifyGetKey {
  let keys = new Map<string, VerifyKey>();
  let fetchedAt = 0;
  let inflight: Promise<void> | undefined;
  const refresh = async (): Promise<void> => {
    const res = await fetchImpl(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new errors.JWKSInvalid(`certificates at ${url} answered ${res.status}`);
    const body = (await res.json()) as Record<string, string>;
    const next = new Map<string, VerifyKey>();
    for (const [kid, pem] of Object.entries(body)) next.set(kid, await importX509(pem, 'RS256'));
    keys = next;
    fetchedAt = Date.now();
  };
  return async (header) => {
    const kid = header.kid ?? '';
    const stale = Date.now() - fetchedAt > 3600_000;
    // Refetch on an unknown kid (key rotation), at most every 30 s.
    if (stale || (!keys.has(kid) && Date.now() - fetchedAt > 30_000)) {
      inflight ??= refresh().finally(() => {
        inflight = undefined;
      });
      await inflight;
    }
    const key = keys.get(kid);
    if (!key) throw new errors.JWKSNoMatchingKey();
    return key;
  };
}

export async function verifyJwt(
  token: string | undefined,
  keys: JWTVerifyGetKey,
  rules: JwtRules,
  nowMs: number,
): Promise<JwtVerdict> {
  if (!token) return { ok: false, reason: 'missing' };
  try {
    const { payload, protectedHeader } = await jwtVerify(token, keys, {
      issuer: rules.issuer as string | string[],
      audience: rules.audience as string | string[],
      algorithms: [...rules.algorithms],
      clockTolerance: rules.clockToleranceSec,
      currentDate: new Date(nowMs),
    });
    return { ok: true, payload, header: { kid: protectedHeader.kid, alg: protectedHeader.alg } };
  } catch (err) {
    if (err instanceof errors.JWTExpired) return { ok: false, reason: 'expired' };
    // The provider's key endpoint failing is not the sender's fault: answer 503 so it retries.
    if (
      err instanceof errors.JWKSTimeout ||
      err instanceof errors.JWKSInvalid ||
      !(err instanceof errors.JOSEError) ||
      // jose reports a key endpoint answering non-200 as a bare JOSEError: that is unavailability too.
      err.constructor === errors.JOSEError
    ) {
      throw new UnavailableError(`signing keys could not be fetched: ${errorMessage(err)}`, { cause: err });
    }
    return { ok: false, reason: 'invalid' };
  }
}
