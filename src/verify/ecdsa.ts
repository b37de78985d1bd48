import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';

/**
 * ECDSA P-256 with SHA-256 (SendGrid's signed Event Webhook). SendGrid shows its verification key as
 * the base64 of the DER SubjectPublicKeyInfo (`MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE…`); a PEM block
 * is taken as well. Signatures are base64 DER (`MEUCI…`).
 */
const keys = new Map<string, KeyObject>();

/** The KeyObject of a P-256 public key, cached; throws when it is not one. */
export function p256PublicKey(text: string): KeyObject {
  let key = keys.get(text);
  if (!key) {
    const trimmed = text.trim();
    try {
      key = trimmed.startsWith('-----BEGIN')
        ? createPublicKey(trimmed)
        : createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
    } catch {
      key = undefined;
    }
    if (key?.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error('must be an ECDSA P-256 public key: base64 (MFkwEwYHKoZIzj0CAQYI…) or PEM');
    }
    if (keys.size >= 1000) keys.clear();
    keys.set(text, key);
  }
  return key;
}

/**
 * True when `signatureBase64` (DER) signs the concatenation of `parts` under any of `publicKeys`.
 * The parts are fed in order, so a base string like `{timestamp}{body}` never copies the body.
 */
export function verifyP256(
  parts: readonly (Buffer | string)[],
  signatureBase64: string,
  publicKeys: readonly string[],
): boolean {
  const signature = Buffer.from(signatureBase64, 'base64');
  if (signature.length === 0) return false;
  let ok = false;
  for (const text of publicKeys) {
    try {
      const verifier = createVerify('sha256');
      for (const part of parts) verifier.update(part);
      if (verifier.verify({ key: p256PublicKey(text), dsaEncoding: 'der' }, signature)) ok = true;
    } catch {
      // An unreadable key is refused by config validation; at run time it simply matches nothing.
    }
  }
  return ok;
}
