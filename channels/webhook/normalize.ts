import { createHash } from 'node:crypto';
import type { ChannelEvent, InboundRequest } from '../../src/channel.js';
import {
  bodyText,
  header,
  isForm,
  isJson,
  type ParsedJson,
  parseForm,
  parseJson,
} from '../../src/request.js';
import { isPresetAuth, type WebhookAccount } from './config.js';
import { presetInput } from './verify.js';

/** Never copied into `data.headers`: credentials, signatures, and anything named like one. */
const secretHeader = /authorization|cookie|token|secret|signature|api-?key/i;

/** The headers that carry a trigger's proof (the configured signature header, a preset's), lower-cased once per trigger. */
const proofHeaders = new WeakMap<WebhookAccount['auth'], readonly string[]>();
function proofHeadersOf(auth: WebhookAccount['auth']): readonly string[] {
  let names = proofHeaders.get(auth);
  if (!names) {
    names = isPresetAuth(auth)
      ? auth.preset.headers.map((h) => h.toLowerCase())
      : auth.scheme === 'hmac-sha256'
        ? [auth.headerLower]
        : [];
    proofHeaders.set(auth, names);
  }
  return names;
}

export function keptHeaders(req: InboundRequest, account: WebhookAccount): Record<string, string> {
  const kept: Record<string, string> = {};
  const proof = proofHeadersOf(account.auth);
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || proof.includes(name) || secretHeader.test(name)) continue;
    kept[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return kept;
}

/** The generic payload: parsed JSON (with its exact text, see `parseJson`), parsed form, or `{ text }` for any other text. */
export function webhookPayload(req: InboundRequest): ParsedJson {
  if (isJson(req.mediaType)) return parseJson(req);
  if (isForm(req.mediaType)) return { value: parseForm(req), raw: undefined };
  return { value: { text: bodyText(req) }, raw: undefined };
}

export function normalizeWebhook(
  req: InboundRequest,
  account: WebhookAccount,
  payload = webhookPayload(req).value,
): ChannelEvent {
  // A sender preset names the sender's own delivery id (the key) and event name (`senderevent`).
  const preset = isPresetAuth(account.auth) ? account.auth.preset : undefined;
  const input = preset ? presetInput(req, '') : undefined;
  // Standard Webhooks' id (or Svix's), or the sender's Idempotency-Key: a redelivery makes no new job.
  const key =
    (input && preset?.deliveryKey(input, payload)) ??
    header(req, 'webhook-id') ??
    header(req, 'svix-id') ??
    header(req, 'idempotency-key');
  return {
    type: 'webhook.received',
    key,
    // Without one, the same bytes again soon are the sender's retry (after a 503): see retryWindowMs.
    retryKey: key === undefined ? createHash('sha256').update(req.body).digest('base64url') : undefined,
    senderevent: input && preset?.eventName(input, payload),
    payload,
    headers: keptHeaders(req, account),
  };
}

export function acceptsWebhook(mediaType: string | undefined): boolean {
  return mediaType === undefined || isJson(mediaType) || isForm(mediaType) || mediaType.startsWith('text/');
}
