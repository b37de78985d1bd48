import { createHmac } from 'node:crypto';
import type { Reply } from '../../channel.js';
import { fieldOf, headerOf, textOf } from './support.js';
import type { Preset } from './types.js';

/**
 * The handshakes of senders whose signature is a row (rows.ts): each wraps its row's preset. A
 * signed handshake is asked only after the row's `verify` passed; Dropbox's challenge is unsigned.
 */
type Extend = (row: Preset) => Preset;

const text = (body: string, headers?: Record<string, string>): Reply => ({
  status: 200,
  contentType: 'text/plain',
  body,
  ...(headers ? { headers } : {}),
});

/**
 * Zoom `endpoint.url_validation` (https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint):
 * answer `{plainToken, encryptedToken}`, encryptedToken = hex HMAC-SHA256(secret token, plainToken),
 * under the secret that signed this very request (during a rotation, the one Zoom holds).
 */
const zoom: Extend = (row) => ({
  ...row,
  handshake(input, payload, creds, nowMs) {
    if (fieldOf(payload, 'event') !== 'endpoint.url_validation') return undefined;
    const plainToken = textOf(fieldOf(fieldOf(payload, 'payload'), 'plainToken'));
    const secret = creds.secrets.find((s) => row.verify(input, { secrets: [s], publicKeys: [] }, nowMs).ok);
    if (plainToken === undefined || secret === undefined)
      return { status: 400, body: { error: 'no plainToken' } };
    const encryptedToken = createHmac('sha256', secret).update(plainToken).digest('hex');
    return { status: 200, body: { plainToken, encryptedToken } };
  },
});

/**
 * Twitch EventSub (https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#responding-to-a-challenge-request):
 * `Twitch-Eventsub-Message-Type: webhook_callback_verification` is answered with the raw `challenge`
 * as text/plain. A `revocation` is an event (the app may want to subscribe again), answered 2xx as
 * Twitch asks; its `senderevent` is `revocation`, so routes on the subscription type do not take it
 * for a notification.
 */
const twitch: Extend = (row) => ({
  ...row,
  handshake(input, payload) {
    if (headerOf(input, 'twitch-eventsub-message-type') !== 'webhook_callback_verification') return undefined;
    const challenge = textOf(fieldOf(payload, 'challenge'));
    return challenge === undefined ? { status: 400, body: { error: 'no challenge' } } : text(challenge);
  },
  eventName: (input, payload) =>
    headerOf(input, 'twitch-eventsub-message-type') === 'revocation'
      ? 'revocation'
      : row.eventName(input, payload),
});

/**
 * Dropbox (https://www.dropbox.com/developers/reference/webhooks#documentation): `GET ?challenge=…`
 * is unsigned and answered before verification by echoing the challenge, as text/plain with
 * `X-Content-Type-Options: nosniff` so a browser never renders it. Other GETs go on to verification
 * (and fail it).
 */
const dropbox: Extend = (row) => ({
  ...row,
  methods: ['GET', 'POST'],
  challenge(input) {
    const challenge = input.method === 'GET' ? input.query.get('challenge') : null;
    return challenge === null ? undefined : text(challenge, { 'X-Content-Type-Options': 'nosniff' });
  },
});

const extensions: Readonly<Record<string, Extend>> = { zoom, twitch, dropbox };

/** The rows that have a handshake, extended with it; rows not (yet) defined are left out. */
export function withHandshakes(rows: readonly Preset[]): Preset[] {
  return rows.flatMap((row) => {
    const extend = extensions[row.name];
    return extend ? [extend(row)] : [];
  });
}
