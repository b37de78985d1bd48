import { timingSafeEqual } from 'node:crypto';
import { signTwilio, twilioAlgorithm, twilioBodyHash, twilioParams, verifyTwilio } from '../twilio.js';
import { fieldOf, headerOf, mismatch, missing, textOf, verified } from './support.js';
import type { Preset } from './types.js';

/**
 * Twilio: https://www.twilio.com/docs/usage/webhooks/webhooks-security, rules in src/verify/twilio.ts,
 * checked against twilio-node's `validateRequest` / `getExpectedTwilioSignature`. The URL is
 * `publicUrl` + path + query, so `publicUrl` must be the URL configured at Twilio. Form bodies sign
 * their parameters; a body of another type (JSON) is signed through `bodySHA256` in the URL, which
 * must then equal the body's hash.
 *
 * Dedupe key: `I-Twilio-Idempotency-Token`, which Twilio keeps across retries of one webhook (Sids
 * are not unique per webhook: one CallSid gets many callbacks). `senderevent`: `EventType` where the
 * product names its events (Conversations, TaskRouter, Sync; Event Streams' CloudEvent `type`),
 * else `message.<MessageStatus|SmsStatus>` or `call.<CallStatus>` (SMS and voice callbacks).
 */
const isForm = (mediaType: string | undefined) => mediaType === 'application/x-www-form-urlencoded';
const noParams = new Map<string, string[]>();

function eventName(payload: unknown): string | undefined {
  const first = Array.isArray(payload) ? payload[0] : payload;
  const named = textOf(fieldOf(first, 'EventType')) ?? textOf(fieldOf(first, 'type'));
  if (named) return named;
  const message = textOf(fieldOf(first, 'MessageStatus')) ?? textOf(fieldOf(first, 'SmsStatus'));
  if (message) return `message.${message}`;
  const call = textOf(fieldOf(first, 'CallStatus'));
  return call ? `call.${call}` : undefined;
}

export const twilio: Preset = {
  name: 'twilio',
  doc: 'https://www.twilio.com/docs/usage/webhooks/webhooks-security',
  needs: 'secrets',
  headers: ['X-Twilio-Signature'],
  signsUrl: true,
  verify(input, creds) {
    const signature = headerOf(input, 'x-twilio-signature');
    if (!signature) return missing;
    const algorithm = twilioAlgorithm(headerOf(input, 'x-twilio-webhooks-signature-settings'));
    if (!algorithm) return mismatch;
    const bodyHash = input.query.get('bodySHA256');
    if (bodyHash !== null) {
      const expected = Buffer.from(twilioBodyHash(input.body));
      const provided = Buffer.from(bodyHash);
      if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) return mismatch;
    }
    const params =
      bodyHash === null && isForm(input.mediaType) ? twilioParams(input.body.toString('utf8')) : noParams;
    return verifyTwilio(signature, input.url, params, creds.secrets, algorithm) ? verified : mismatch;
  },
  deliveryKey: (input) => headerOf(input, 'i-twilio-idempotency-token'),
  eventName: (_input, payload) => eventName(payload),
  /** Signs `body` as form parameters, as Twilio's SMS and voice webhooks send them (hence the content type). */
  sign: (creds, body, _nowMs, url) => ({
    'content-type': 'application/x-www-form-urlencoded',
    'x-twilio-signature': signTwilio(creds.secrets[0] ?? '', url, twilioParams(body.toString('utf8'))),
  }),
};
