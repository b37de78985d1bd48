import { createHash } from 'node:crypto';
import type { ChannelEvent, EventMessage, InboundRequest, Received, Reply } from '../../src/channel.js';
import { RejectedError } from '../../src/errors.js';
import {
  isForm,
  isJson,
  type ParsedJson,
  parseForm,
  parseJsonObject,
  parseJsonText,
} from '../../src/request.js';
import { isObject as isObj, nonEmptyString as str } from '../../src/values.js';

type Obj = Record<string, unknown>;

const field = (form: Record<string, string | string[]>, key: string): string | undefined => {
  const v = form[key];
  return Array.isArray(v) ? v[0] : v;
};

export const acceptsSlack = (mediaType: string | undefined): boolean =>
  isJson(mediaType) || isForm(mediaType);

/**
 * `ssl_check=1`: Slack checks the certificate of a slash command URL with an unsigned form post
 * (https://api.slack.com/interactivity/slash-commands#ssl; bolt-js answers it before verification,
 * HTTPModuleFunctions.parseAndVerifyHTTPRequest). It carries no event: 200, nothing queued.
 */
export function sslCheck(req: InboundRequest): Reply | undefined {
  if (!isForm(req.mediaType)) return undefined;
  try {
    return field(parseForm(req), 'ssl_check') === '1' ? { status: 200 } : undefined;
  } catch {
    return undefined;
  }
}

/** `channel` is an id in message events and an object in channel_* events; reactions name `item.channel`. */
function channelOf(event: Obj): string | undefined {
  const channel = event.channel;
  if (isObj(channel)) return str(channel.id);
  return str(channel) ?? (isObj(event.item) ? str(event.item.channel) : undefined) ?? str(event.channel_id);
}

function messageOf(event: Obj): EventMessage | undefined {
  if (event.type !== 'message' && event.type !== 'app_mention') return undefined;
  // An edit carries the new message inside; https://api.slack.com/events/message/message_changed
  const m = event.subtype === 'message_changed' && isObj(event.message) ? event.message : event;
  return {
    id: str(m.ts) ?? str(m.client_msg_id),
    conversation: channelOf(event),
    sender: str(m.user) ?? str(m.bot_id),
    text: typeof m.text === 'string' ? m.text : undefined,
    ...(str(m.thread_ts) ? { thread: str(m.thread_ts) } : {}),
  };
}

/** Seconds since the epoch; Slack's own app_mention example carries microseconds, so anything else is dropped. */
function isoFromSeconds(v: unknown): string | undefined {
  const date = typeof v === 'number' ? new Date(v * 1000) : undefined;
  return date && !Number.isNaN(date.getTime()) && date.getUTCFullYear() < 3000
    ? date.toISOString()
    : undefined;
}

const digest = (body: Buffer) => createHash('sha256').update(body).digest('hex');

/** An Events API envelope (https://api.slack.com/apis/events-api#callback-field): one `slack.event`. */
export function normalizeEventCallback(envelope: Obj, body: Buffer): ChannelEvent {
  const event = isObj(envelope.event) ? envelope.event : {};
  return {
    type: 'slack.event',
    // event_id is the same on every retry of one delivery; other envelope types (app_rate_limited) have none.
    key: str(envelope.event_id) ?? `${String(envelope.type)}|${digest(body)}`,
    subject: channelOf(event),
    time: isoFromSeconds(envelope.event_time),
    payload: envelope,
    message: messageOf(event),
  };
}

/**
 * An interactivity payload (https://api.slack.com/interactivity/handling#payloads): keyed on
 * `trigger_id`, else on the actions' ids and timestamps (block_suggestion and view_closed have no
 * trigger), else on the view's id and hash.
 */
export function normalizeInteraction(payload: Obj, body: Buffer): ChannelEvent {
  const actions = Array.isArray(payload.actions) ? payload.actions.filter(isObj) : [];
  const actionIds = actions.map((a) =>
    [a.block_id, a.action_id, a.action_ts].map((p) => str(p) ?? '').join('/'),
  );
  const view = isObj(payload.view) ? payload.view : undefined;
  const container = isObj(payload.container) ? payload.container : {};
  const key =
    str(payload.trigger_id) ??
    (actionIds.length > 0 ? `${String(payload.type)}|${actionIds.join(',')}` : undefined) ??
    (view && str(view.id) ? `${String(payload.type)}|${str(view.id)}|${str(view.hash) ?? ''}` : undefined) ??
    `${String(payload.type)}|${digest(body)}`;
  return {
    type: 'slack.interaction',
    key,
    subject: (isObj(payload.channel) ? str(payload.channel.id) : undefined) ?? str(container.channel_id),
    payload,
  };
}

/** A slash command (https://api.slack.com/interactivity/slash-commands#app_command_handling). */
export function normalizeCommand(form: Record<string, string | string[]>): ChannelEvent {
  return {
    type: 'slack.command',
    key: field(form, 'trigger_id'),
    subject: field(form, 'channel_id'),
    payload: { ...form },
    message: {
      conversation: field(form, 'channel_id'),
      sender: field(form, 'user_id'),
      text: field(form, 'text') ?? '',
      command: field(form, 'command'),
    },
  };
}

function parsePayloadField(text: string): ParsedJson<Obj> {
  const parsed = parseJsonText(text, 'payload field');
  if (isObj(parsed.value)) return parsed as ParsedJson<Obj>;
  throw new RejectedError('bad_body', { why: 'payload field is not a JSON object' });
}

/** A verified request: one event, or the url_verification challenge (no event). */
export function receiveSlack(req: InboundRequest): Received {
  if (isForm(req.mediaType)) {
    const form = parseForm(req);
    const payload = field(form, 'payload');
    if (payload !== undefined) {
      const { value, raw } = parsePayloadField(payload);
      return { events: [normalizeInteraction(value, req.body)], raw };
    }
    if (field(form, 'command') !== undefined) return { events: [normalizeCommand(form)] };
    throw new RejectedError('bad_body', {
      why: 'form is neither a slash command nor an interaction payload',
    });
  }
  const { value: envelope, raw } = parseJsonObject(req);
  if (envelope.type === 'url_verification') {
    // https://api.slack.com/events/url_verification: answer with the challenge, in plain text.
    const challenge = str(envelope.challenge);
    if (challenge === undefined)
      throw new RejectedError('bad_body', { why: 'url_verification without a challenge' });
    return {
      events: [],
      reply: () => ({ status: 200, contentType: 'text/plain; charset=utf-8', body: challenge }),
    };
  }
  if (typeof envelope.type !== 'string')
    throw new RejectedError('bad_body', { why: 'JSON body without a type' });
  return { events: [normalizeEventCallback(envelope, req.body)], raw };
}
