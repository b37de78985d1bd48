import { createPublicKey, type KeyObject, verify } from 'node:crypto';

/**
 * Ed25519 signatures (Discord): node:crypto verifies them once the raw 32-byte public key is wrapped
 * in its SPKI DER header (RFC 8410: SEQUENCE { AlgorithmIdentifier id-Ed25519, BIT STRING key }).
 */
const spkiPrefix = Buffer.from('302a300506032b6570032100', 'hex');

const keys = new Map<string, KeyObject>();

/** The KeyObject of a hex public key, cached; throws when it is not 64 hex characters. */
export function ed25519PublicKey(hex: string): KeyObject {
  let key = keys.get(hex);
  if (!key) {
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error('must be an Ed25519 public key: 64 hex characters');
    key = createPublicKey({
      key: Buffer.concat([spkiPrefix, Buffer.from(hex, 'hex')]),
      format: 'der',
      type: 'spki',
    });
    if (keys.size >= 1000) keys.clear();
    keys.set(hex, key);
  }
  return key;
}

/**
 * True when `signatureHex` (64 bytes, hex) signs `message` under any of `publicKeys` (hex). Every key
 * is tried, so timing does not say which one matched; a key that cannot be read never matches.
 */
export function verifyEd25519(message: Buffer, signatureHex: string, publicKeys: readonly string[]): boolean {
  if (!/^[0-9a-fA-F]{128}$/.test(signatureHex)) return false;
  const signature = Buffer.from(signatureHex, 'hex');
  let ok = false;
  for (const hex of publicKeys) {
    try {
      if (verify(null, message, ed25519PublicKey(hex), signature)) ok = true;
    } catch {
      // An unreadable key is refused by config validation; at run time it simply matches nothing.
    }
  }
  return ok;
}
