import type { Reply } from '../../channel.js';
import { ed25519PublicKey, verifyEd25519 } from '../ed25519.js';
import { fieldOf, headerOf, mismatch, missing, outsideWindow, textOf, verified } from './support.js';
import type { Preset } from './types.js';

/**
 * Discord interactions (and webhook events, which share the signature):
 * https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers
 * `X-Signature-Ed25519` (hex) signs `X-Signature-Timestamp` + raw body with the application's
 * Ed25519 key; `auth.publicKey` holds its hex public key (a list during a rotation). Checked against
 * discord-interactions' `verifyKey`. Discord probes a new URL with a badly signed request and refuses
 * the URL unless it gets 401, which the shared verify path answers.
 *
 * The timestamp is signed but Discord documents no window; interactions are sent once, at once, so
 * 300 s refuses replays without refusing anything Discord sends.
 */
const toleranceSec = 300;

/** Interaction types: https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-interaction-type */
const interactionTypes: Readonly<Record<number, string>> = {
  1: 'PING',
  2: 'APPLICATION_COMMAND',
  3: 'MESSAGE_COMPONENT',
  4: 'APPLICATION_COMMAND_AUTOCOMPLETE',
  5: 'MODAL_SUBMIT',
};

/**
 * Webhook events (https://discord.com/developers/docs/events/webhook-events) come as
 * `{version, application_id, type: 0 (PING) | 1 (EVENT), event?}` and carry no interaction `id`.
 */
const isWebhookEvent = (payload: unknown): boolean =>
  fieldOf(payload, 'id') === undefined && fieldOf(payload, 'application_id') !== undefined;

const json = (body: unknown): Reply => ({ status: 200, body });

/**
 * The first answer Discord needs within 3 s, once the interaction is queued: a deferral the worker
 * completes later with the interaction token
 * (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-interaction-callback-type).
 * Commands: DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE (5). Components: DEFERRED_UPDATE_MESSAGE (6). Modal
 * submits: 6 when the modal was opened from a component (the interaction has `message`), else 5,
 * since 6 is valid only for component-based interactions. Autocomplete cannot be deferred (its only
 * answer is APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, 8): it is queued and answered with no choices.
 */
function deferral(payload: unknown): Reply {
  if (isWebhookEvent(payload)) return { status: 204 };
  switch (fieldOf(payload, 'type')) {
    case 3:
      return json({ type: 6 });
    case 4:
      return json({ type: 8, data: { choices: [] } });
    case 5:
      return json({ type: fieldOf(payload, 'message') === undefined ? 5 : 6 });
    default:
      return json({ type: 5 });
  }
}

export const discord: Preset = {
  name: 'discord',
  doc: 'https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers',
  needs: 'publicKey',
  assertPublicKey(key) {
    ed25519PublicKey(key);
  },
  headers: ['X-Signature-Ed25519', 'X-Signature-Timestamp'],
  verify(input, creds, nowMs) {
    const signature = headerOf(input, 'x-signature-ed25519');
    const timestamp = headerOf(input, 'x-signature-timestamp');
    if (!signature || !timestamp) return missing;
    const window = outsideWindow(timestamp, nowMs, toleranceSec);
    if (window) return window;
    const message = Buffer.concat([Buffer.from(timestamp), input.body]);
    return verifyEd25519(message, signature, creds.publicKeys) ? verified : mismatch;
  },
  /** A signed PING is answered PONG and queues nothing (an unsigned one never gets here: 401). */
  handshake(_input, payload) {
    if (isWebhookEvent(payload)) return fieldOf(payload, 'type') === 0 ? { status: 204 } : undefined;
    return fieldOf(payload, 'type') === 1 ? json({ type: 1 }) : undefined;
  },
  deliveryKey: (_input, payload) => textOf(fieldOf(payload, 'id')),
  eventName(_input, payload) {
    if (isWebhookEvent(payload)) return textOf(fieldOf(fieldOf(payload, 'event'), 'type'));
    const type = fieldOf(payload, 'type');
    return typeof type === 'number' ? interactionTypes[type] : undefined;
  },
  reply: (_ids, payload) => deferral(payload),
};
