import { createHash } from 'node:crypto';
import type { ChannelEvent, InboundRequest } from '../../src/channel.js';
import { bodyText, header, isForm, isJson, parseForm, parseJson } from '../../src/http/parse.js';
import type { WebhookAccount } from './config.js';

/** Never copied into `data.headers`: credentials, signatures, and anything named like one. */
const secretHeader = /authorization|cookie|token|secret|signature|api-?key/i;

export function keptHeaders(req: InboundRequest, account: WebhookAccount): Record<string, string> {
  const kept: Record<string, string> = {};
  const signatureHeader = account.auth.scheme === 'hmac-sha256' ? account.auth.headerLower : undefined;
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === signatureHeader || secretHeader.test(name)) continue;
    kept[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return kept;
}

/** The generic payload: parsed JSON, parsed form, or `{ text }` for any other text. */
export function webhookPayload(req: InboundRequest): unknown {
  if (isJson(req.mediaType)) return parseJson(req);
  if (isForm(req.mediaType)) return parseForm(req);
  return { text: bodyText(req) };
}

export function normalizeWebhook(req: InboundRequest, account: WebhookAccount): ChannelEvent {
  // Standard Webhooks' id, or the sender's Idempotency-Key: a redelivery makes no new job.
  const key = header(req, 'webhook-id') ?? header(req, 'idempotency-key');
  return {
    type: 'webhook.received',
    key,
    // Without one, the same bytes again soon are the sender's retry (after a 503): see retryWindowMs.
    retryKey: key === undefined ? createHash('sha256').update(req.body).digest('base64url') : undefined,
    payload: webhookPayload(req),
    headers: keptHeaders(req, account),
  };
}

export function acceptsWebhook(mediaType: string | undefined): boolean {
  return mediaType === undefined || isJson(mediaType) || isForm(mediaType) || mediaType.startsWith('text/');
}
