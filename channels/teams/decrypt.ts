import {
  constants,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  type KeyObject,
  privateDecrypt,
  timingSafeEqual,
} from 'node:crypto';
import type { SecretList } from '../../src/config/secret.js';

/**
 * Rich notifications (resource data in the notification), as "Set up change notifications that
 * include resource data" describes them:
 * https://learn.microsoft.com/graph/change-notifications-with-resource-data#decrypting-resource-data
 *
 * - `dataKey`: base64 symmetric key, encrypted with our certificate's public key,
 *   RSA/ECB/OAEPWithSHA1AndMGF1Padding (changeNotificationEncryptedContent resource type).
 * - `dataSignature`: base64 HMAC-SHA256 of the base64-decoded `data`, keyed with the symmetric key;
 *   checked before decrypting ("If they don't match, assume the payload has been tampered with").
 * - `data`: AES-CBC with PKCS7 padding; the IV is the first 16 bytes of the symmetric key.
 */
export interface EncryptedContent {
  readonly data: string;
  readonly dataKey: string;
  readonly dataSignature: string;
  readonly encryptionCertificateId?: string;
  readonly encryptionCertificateThumbprint?: string;
}

export type DecryptResult =
  | { readonly ok: true; readonly resource: unknown }
  | { readonly ok: false; readonly reason: 'bad_signature' | 'bad_body'; readonly why: string };

const privateKeys = new WeakMap<SecretList, KeyObject[]>();

function keysOf(pems: SecretList): KeyObject[] {
  let keys = privateKeys.get(pems);
  if (!keys) {
    keys = pems.map((pem) => createPrivateKey(pem));
    privateKeys.set(pems, keys);
  }
  return keys;
}

export function isEncryptedContent(value: unknown): value is EncryptedContent {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v.data === 'string' && typeof v.dataKey === 'string' && typeof v.dataSignature === 'string';
}

/** Any configured key (old and new during a certificate rotation) that opens `dataKey`. */
function symmetricKey(dataKey: Buffer, keys: readonly KeyObject[]): Buffer | undefined {
  for (const key of keys) {
    try {
      return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, dataKey);
    } catch {
      // not this key: try the next one
    }
  }
  return undefined;
}

export function decryptContent(content: EncryptedContent, pems: SecretList): DecryptResult {
  const key = symmetricKey(Buffer.from(content.dataKey, 'base64'), keysOf(pems));
  if (!key)
    return {
      ok: false,
      reason: 'bad_signature',
      why: 'dataKey does not open with any configured decryptionKey',
    };
  if (key.length !== 32) return { ok: false, reason: 'bad_signature', why: 'symmetric key is not 32 bytes' };
  const data = Buffer.from(content.data, 'base64');
  const expected = createHmac('sha256', key).update(data).digest();
  const provided = Buffer.from(content.dataSignature, 'base64');
  if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) {
    return { ok: false, reason: 'bad_signature', why: 'dataSignature mismatch' };
  }
  let text: string;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    text = Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch {
    return { ok: false, reason: 'bad_body', why: 'data does not decrypt' };
  }
  try {
    return { ok: true, resource: JSON.parse(text) };
  } catch {
    return { ok: false, reason: 'bad_body', why: 'decrypted data is not JSON' };
  }
}
