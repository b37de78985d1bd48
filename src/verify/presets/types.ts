import type { IncomingHttpHeaders } from 'node:http';
import type { Reply } from '../../channel.js';
import type { TimedVerdict } from '../verdict.js';

/**
 * Sender presets for generic triggers (`auth.scheme: stripe`, `github`, `discord`, …): each verifies
 * exactly as its sender documents and names the sender's delivery id (dedupe key) and event name
 * (the CloudEvent extension `senderevent`).
 *
 * Two kinds, one registry (index.ts):
 * - data rows on the templated HMAC verifier (rows.ts, built by hmac-template.ts);
 * - presets that need code (Ed25519, ECDSA, Twilio's form parameters, signed handshakes): one file
 *   each under this folder, exported as a `Preset` and added to `codePresets` in code.ts.
 * The webhook channel (channels/webhook/) only calls the methods below, so a preset never touches it.
 */

/** The request as a preset sees it, before anything is parsed. */
export interface PresetInput {
  readonly method: string;
  /**
   * The URL the sender signed: `publicUrl` + path + query when `publicUrl` is set, otherwise the
   * request's own URL (scheme and host from X-Forwarded-Proto/-Host or Host).
   */
  readonly url: string;
  /** Node's headers: names lower-cased. */
  readonly headers: IncomingHttpHeaders;
  readonly query: URLSearchParams;
  readonly body: Buffer;
  /** `Content-Type` without parameters, lower-cased. */
  readonly mediaType: string | undefined;
}

export type PresetVerdict = TimedVerdict;

/** What a trigger configures: `auth.secrets` (shared secrets, a rotation list) or `auth.publicKey`. */
export interface PresetCredentials {
  readonly secrets: readonly string[];
  readonly publicKeys: readonly string[];
}

export interface Preset {
  /** The `auth.scheme` value: lower case, e.g. `stripe`. */
  readonly name: string;
  /** The sender's documentation of its signature, where the rules come from. */
  readonly doc: string;
  /** Which credential the config must give. */
  readonly needs: 'secrets' | 'publicKey';
  /** Throws, with what a key must look like, when `auth.publicKey` cannot be a key of this sender (checked at load). */
  assertPublicKey?(key: string): void;
  /** Headers that carry the proof, as the sender writes them: for `relay doctor`, and never copied into `data.headers`. */
  readonly headers: readonly string[];
  /** True when the signature covers the URL (Twilio, Square, HubSpot): failures log the URL used, doctor hints at publicUrl. */
  readonly signsUrl?: boolean;
  /** Methods the sender uses; default POST (and PUT). Dropbox adds GET for its challenge. */
  readonly methods?: readonly ('GET' | 'POST' | 'PUT')[];
  /** Checks the request on its raw bytes; never throws. */
  verify(input: PresetInput, creds: PresetCredentials, nowMs: number): PresetVerdict;
  /** An unsigned handshake answered before verification (Dropbox `GET ?challenge=`); undefined: none. */
  challenge?(input: PresetInput): Reply | undefined;
  /**
   * A signed handshake, asked only after `verify` passed, with the parsed payload (Zoom
   * `endpoint.url_validation`, Twitch `webhook_callback_verification`, Discord PING): a Reply is
   * sent as is and nothing is queued; undefined: the request is an event.
   */
  handshake?(
    input: PresetInput,
    payload: unknown,
    creds: PresetCredentials,
    nowMs: number,
  ): Reply | undefined;
  /** The sender's delivery or event id: the event key, so a redelivery makes no new job. */
  deliveryKey(input: PresetInput, payload: unknown): string | undefined;
  /** The sender's event name: the CloudEvent extension `senderevent`. */
  eventName(input: PresetInput, payload: unknown): string | undefined;
  /** The answer once the events are queued (Discord's deferral); default 202 `{"ids":[…]}`. */
  reply?(ids: readonly string[], payload: unknown): Reply;
  /** Headers a sender would add, where the secret is shared: for tests and `relay sign`. */
  sign?(creds: PresetCredentials, body: Buffer, nowMs: number, url: string): Record<string, string>;
}
