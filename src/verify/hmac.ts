import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Verdict } from './verdict.js';

/** How a provider writes an HMAC signature: Slack, Meta, GitHub and the generic scheme differ only here. */
export interface HmacScheme {
  readonly algorithm: 'sha256' | 'sha1';
  readonly encoding: 'hex' | 'base64';
  /** Written before the digest in the header, e.g. `sha256=` or `v0=`. */
  readonly prefix: string;
}

export const sha256Hex: HmacScheme = { algorithm: 'sha256', encoding: 'hex', prefix: '' };

/** Parts are fed to the HMAC in order, so a base string like `v0:{ts}:{body}` never copies the body. */
export type SignedContent = Buffer | string | readonly (Buffer | string)[];

export function hmacDigest(secret: string, content: SignedContent, scheme: HmacScheme): string {
  const mac = createHmac(scheme.algorithm, secret);
  if (typeof content === 'string' || Buffer.isBuffer(content)) mac.update(content);
  else for (const part of content) mac.update(part);
  return mac.digest(scheme.encoding);
}

/** The header value a sender would write: prefix + digest. */
export function signHmac(secret: string, content: SignedContent, scheme: HmacScheme): string {
  return scheme.prefix + hmacDigest(secret, content, scheme);
}

/**
 * Checks `signature` against every secret (rotation lists). Length check, then `timingSafeEqual`,
 * as octokit/webhooks-methods does; every secret is tried so timing does not reveal which matched.
 */
export function verifyHmac(
  signature: string | undefined,
  content: SignedContent,
  secrets: readonly string[],
  scheme: HmacScheme,
): Verdict {
  if (!signature) return 'missing';
  const provided = Buffer.from(signature);
  let ok = false;
  for (const secret of secrets) {
    const expected = Buffer.from(signHmac(secret, content, scheme));
    if (expected.length === provided.length && timingSafeEqual(expected, provided)) ok = true;
  }
  return ok ? 'ok' : 'mismatch';
}
