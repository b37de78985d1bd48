import { p256PublicKey, verifyP256 } from '../ecdsa.js';
import { fieldOf, headerOf, mismatch, missing, outsideWindow, textOf, verified } from './support.js';
import type { Preset } from './types.js';

/**
 * SendGrid's signed Event Webhook:
 * https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
 * `X-Twilio-Email-Event-Webhook-Signature` (base64 DER ECDSA P-256/SHA-256) over
 * `X-Twilio-Email-Event-Webhook-Timestamp` + raw body, checked against @sendgrid/eventwebhook's
 * `verifySignature`. `auth.publicKey` is the verification key SendGrid shows (base64 of the DER public
 * key; a list during a rotation). SendGrid documents no window for the signed timestamp: 300 s, as
 * the other presets.
 *
 * One request is a JSON array of events. The dedupe key is their `sg_event_id`s joined (a retried
 * batch carries the same ids); `senderevent` is their `event` names, distinct, in order, joined by
 * `,` (`delivered`, or `processed,delivered` for a mixed batch).
 */
const toleranceSec = 300;

const events = (payload: unknown): readonly unknown[] => (Array.isArray(payload) ? payload : [payload]);

function joined(payload: unknown, field: string, distinct: boolean): string | undefined {
  const values: string[] = [];
  for (const event of events(payload)) {
    const value = textOf(fieldOf(event, field));
    if (value === undefined) return undefined;
    if (!distinct || !values.includes(value)) values.push(value);
  }
  return values.length > 0 ? values.join(',') : undefined;
}

export const sendgrid: Preset = {
  name: 'sendgrid',
  doc: 'https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features',
  needs: 'publicKey',
  assertPublicKey(key) {
    p256PublicKey(key);
  },
  headers: ['X-Twilio-Email-Event-Webhook-Signature', 'X-Twilio-Email-Event-Webhook-Timestamp'],
  verify(input, creds, nowMs) {
    const signature = headerOf(input, 'x-twilio-email-event-webhook-signature');
    const timestamp = headerOf(input, 'x-twilio-email-event-webhook-timestamp');
    if (!signature || !timestamp) return missing;
    const window = outsideWindow(timestamp, nowMs, toleranceSec);
    if (window) return window;
    return verifyP256([timestamp, input.body], signature, creds.publicKeys) ? verified : mismatch;
  },
  deliveryKey: (_input, payload) => joined(payload, 'sg_event_id', false),
  eventName: (_input, payload) => joined(payload, 'event', true),
};
