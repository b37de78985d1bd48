import { createHash } from 'node:crypto';
import type { ChannelEvent, EventMessage, InboundRequest, Received } from '../../src/channel.js';
import { RejectedError } from '../../src/errors.js';
import { numberText } from '../../src/exact-json.js';
import { isJson, parseJsonObject } from '../../src/request.js';
import { isObject, nonEmptyString as str } from '../../src/values.js';

/**
 * A Meta notification batches `entry[].changes[]`; a `messages` change carries `messages[]` and/or
 * `statuses[]` plus the `metadata` (business number) and `contacts` (sender profiles) they share.
 * Each message and each status becomes one event; any other change becomes one `whatsapp.change`.
 * https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
 */

type Json = Record<string, unknown>;

const objects = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);

/** Meta timestamps are Unix seconds as strings. */
function isoTime(v: unknown): string | undefined {
  const s = numberText(v) ?? '';
  if (!/^\d{1,12}$/.test(s)) return undefined;
  return new Date(Number(s) * 1000).toISOString();
}

/** Context the worker needs beside the one item, under keys Meta never uses on a message or status. */
function withContext(item: Json, context: Json): Json {
  const out: Json = { ...item };
  for (const [key, value] of Object.entries(context))
    if (value !== undefined && !(key in out)) out[key] = value;
  return out;
}

/** The sender's entry in `contacts[]`: matched by wa_id, else the only one. */
function contactOf(message: Json, contacts: Json[]): Json | undefined {
  const from = str(message.from);
  return (
    contacts.find((c) => from !== undefined && c.wa_id === from) ??
    (contacts.length === 1 ? contacts[0] : undefined)
  );
}

/** Text body, media caption, or the title of the reply button/list row the user tapped. */
export function messageText(message: Json): string | undefined {
  const text = isObject(message.text) ? str(message.text.body) : undefined;
  if (text !== undefined) return text;
  for (const media of ['image', 'video', 'document', 'sticker'] as const) {
    const m = message[media];
    if (isObject(m) && str(m.caption) !== undefined) return str(m.caption);
  }
  if (isObject(message.interactive)) {
    const i = message.interactive;
    for (const reply of ['button_reply', 'list_reply'] as const) {
      const r = i[reply];
      if (isObject(r) && str(r.title) !== undefined) return str(r.title);
    }
  }
  // A quick-reply button of a template message.
  if (isObject(message.button)) return str(message.button.text);
  return undefined;
}

function messageEvent(message: Json, value: Json, wabaId: string | undefined): ChannelEvent {
  const contact = contactOf(message, objects(value.contacts));
  const id = str(message.id);
  const conversation = str(contact?.wa_id) ?? str(message.from);
  const view: EventMessage = { id, conversation, sender: str(message.from), text: messageText(message) };
  return {
    type: 'whatsapp.message',
    key: id && `message|${id}`,
    subject: conversation,
    time: isoTime(message.timestamp),
    payload: withContext(message, {
      metadata: value.metadata,
      contact,
      whatsapp_business_account_id: wabaId,
    }),
    message: view,
  };
}

function statusEvent(status: Json, value: Json, wabaId: string | undefined): ChannelEvent {
  const id = str(status.id);
  const state = str(status.status);
  return {
    type: 'whatsapp.status',
    // One message goes sent → delivered → read: each transition is its own event.
    key: id && state ? `status|${id}|${state}` : undefined,
    subject: str(status.recipient_id),
    time: isoTime(status.timestamp),
    payload: withContext(status, { metadata: value.metadata, whatsapp_business_account_id: wabaId }),
  };
}

function changeEvent(change: Json, wabaId: string | undefined): ChannelEvent {
  const digest = createHash('sha256')
    .update(JSON.stringify([wabaId ?? null, change]))
    .digest('base64url');
  return {
    type: 'whatsapp.change',
    key: `change|${digest}`,
    payload: withContext(change, { whatsapp_business_account_id: wabaId }),
  };
}

/** Every event of one notification body. Pure; never throws on any JSON value. */
export function normalizeWhatsapp(body: unknown): ChannelEvent[] {
  const events: ChannelEvent[] = [];
  if (!isObject(body)) return events;
  for (const entry of objects(body.entry)) {
    const wabaId = str(entry.id);
    for (const change of objects(entry.changes)) {
      const value = isObject(change.value) ? change.value : {};
      const messages = objects(value.messages);
      const statuses = objects(value.statuses);
      if (change.field !== 'messages' || (messages.length === 0 && statuses.length === 0)) {
        events.push(changeEvent(change, wabaId));
        continue;
      }
      for (const message of messages) events.push(messageEvent(message, value, wabaId));
      for (const status of statuses) events.push(statusEvent(status, value, wabaId));
    }
  }
  return events;
}

export function receiveWhatsapp(req: InboundRequest): Received {
  const { value: body, raw } = parseJsonObject(req);
  if (!Array.isArray(body.entry))
    throw new RejectedError('bad_body', { why: 'not a WhatsApp notification: no entry list' });
  return { events: normalizeWhatsapp(body), raw };
}

/** Meta posts `application/json`; a request without a content type is still checked (and refused) by signature. */
export const acceptsWhatsapp = (mediaType: string | undefined): boolean =>
  mediaType === undefined || isJson(mediaType);
