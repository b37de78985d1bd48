import { verifyToken } from '../token.js';
import { compileSource, type ValueSource } from './hmac-template.js';
import type { Preset } from './types.js';

/** A sender that proves itself with a shared token in a header (GitLab's `X-Gitlab-Token`), compared in constant time. */
export interface TokenRow {
  readonly name: string;
  readonly doc: string;
  readonly header: string;
  readonly key?: ValueSource;
  readonly event?: ValueSource;
}

export function tokenPreset(row: TokenRow): Preset {
  const lower = row.header.toLowerCase();
  return {
    name: row.name,
    doc: row.doc,
    needs: 'secrets',
    headers: [row.header],
    verify: (input, creds) => {
      const value = input.headers[lower];
      const verdict = verifyToken(Array.isArray(value) ? value[0] : value, creds.secrets);
      return verdict === 'ok' ? { ok: true } : { ok: false, reason: verdict };
    },
    deliveryKey: compileSource(row.key),
    eventName: compileSource(row.event),
    sign: (creds) => ({ [lower]: creds.secrets[0] ?? '' }),
  };
}
