import { createHmac, timingSafeEqual } from 'node:crypto';
import { fieldOf, mismatch, missing, outsideWindow, textOf, verified } from './support.js';
import type { Preset, PresetInput } from './types.js';

/**
 * Mailgun: https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks
 * The proof lives in the body: `signature: {timestamp, token, signature, parent-signature?}` in JSON
 * webhooks (top-level `timestamp`, `token`, `signature` fields in legacy form posts), where
 * `signature` = hex HMAC-SHA256(webhook signing key, timestamp + token). `parent-signature` (events of
 * a subaccount) is the same under the primary account's key, so either passes against any listed key.
 * Mailgun publishes no signing library; the vector in the tests is computed as its docs say.
 *
 * The body must be parsed before it is verified: only JSON and urlencoded forms are read, and only
 * within `server.bodyLimit` (the body was bounded when it was read). Multipart posts (stored
 * messages, routes) carry no webhook signature of this form and are refused.
 * Window: 300 s on the signed timestamp, as the other presets.
 *
 * The signature covers only timestamp + token, not `event-data`: a captured request could be replayed
 * with another body inside the window. Mailgun asks receivers to refuse a token seen before, so the
 * token is the dedupe key: a replay, whatever its body, finds the first job and makes none.
 */
const toleranceSec = 300;

interface Proof {
  readonly timestamp: string;
  readonly token: string;
  readonly signatures: readonly string[];
}

export function signMailgun(key: string, timestamp: string, token: string): string {
  return createHmac('sha256', key).update(timestamp).update(token).digest('hex');
}

function proofIn(fields: unknown): Proof | undefined {
  const timestamp = textOf(fieldOf(fields, 'timestamp'));
  const token = textOf(fieldOf(fields, 'token'));
  const signatures = [
    textOf(fieldOf(fields, 'signature')),
    textOf(fieldOf(fields, 'parent-signature')),
  ].filter((s): s is string => s !== undefined && s !== '');
  return timestamp && token && signatures.length > 0 ? { timestamp, token, signatures } : undefined;
}

function parsed(input: PresetInput): unknown {
  const type = input.mediaType;
  try {
    if (type === 'application/json') return JSON.parse(input.body.toString('utf8'));
    if (type === 'application/x-www-form-urlencoded') {
      return Object.fromEntries(new URLSearchParams(input.body.toString('utf8')));
    }
  } catch {
    // Unparseable: no proof.
  }
  return undefined;
}

export const mailgun: Preset = {
  name: 'mailgun',
  doc: 'https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks',
  needs: 'secrets',
  headers: [],
  verify(input, creds, nowMs) {
    const body = parsed(input);
    const proof = proofIn(fieldOf(body, 'signature')) ?? proofIn(body);
    if (!proof) return missing;
    const window = outsideWindow(proof.timestamp, nowMs, toleranceSec);
    if (window) return window;
    let ok = false;
    for (const key of creds.secrets) {
      const expected = Buffer.from(signMailgun(key, proof.timestamp, proof.token));
      for (const signature of proof.signatures) {
        const provided = Buffer.from(signature);
        if (provided.length === expected.length && timingSafeEqual(provided, expected)) ok = true;
      }
    }
    return ok ? verified : mismatch;
  },
  deliveryKey: (_input, payload) =>
    textOf(fieldOf(fieldOf(payload, 'signature'), 'token')) ?? textOf(fieldOf(payload, 'token')),
  eventName: (_input, payload) =>
    textOf(fieldOf(fieldOf(payload, 'event-data'), 'event')) ?? textOf(fieldOf(payload, 'event')),
};
