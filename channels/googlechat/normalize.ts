import type { ChannelEvent, EventMessage, InboundRequest, Received } from '../../src/channel.js';
import { RejectedError } from '../../src/errors.js';
import { isJson, parseJsonObject } from '../../src/request.js';
import { isObject as isObj, nonEmptyString as str } from '../../src/values.js';

type Obj = Record<string, unknown>;

const obj = (v: unknown): Obj => (isObj(v) ? v : {});

export const acceptsGoogleChat = (mediaType: string | undefined): boolean => isJson(mediaType);

/**
 * Apps built as Google Workspace add-ons get the event under `chat`, with one payload field naming
 * what happened instead of a `type` (https://developers.google.com/workspace/add-ons/concepts/event-objects#chat-event-object).
 * Each maps to the classic EventType (https://developers.google.com/workspace/chat/api/reference/rest/v1/EventType),
 * so both deployments yield the same event types.
 */
const addOnPayloads: Readonly<Record<string, string>> = {
  messagePayload: 'MESSAGE',
  addedToSpacePayload: 'ADDED_TO_SPACE',
  removedFromSpacePayload: 'REMOVED_FROM_SPACE',
  buttonClickedPayload: 'CARD_CLICKED',
  widgetUpdatedPayload: 'WIDGET_UPDATED',
  appCommandPayload: 'APP_COMMAND',
};

interface ChatParts {
  readonly type: string;
  readonly eventTime: unknown;
  readonly user: Obj;
  readonly space: Obj;
  readonly message: Obj | undefined;
}

function parts(body: Obj): ChatParts {
  if (typeof body.type === 'string') {
    const message = isObj(body.message) ? body.message : undefined;
    return {
      type: body.type,
      eventTime: body.eventTime,
      user: obj(body.user),
      space: obj(body.space ?? message?.space),
      message,
    };
  }
  const chat = obj(body.chat);
  const field = Object.keys(addOnPayloads).find((k) => isObj(chat[k]));
  if (field === undefined)
    throw new RejectedError('bad_body', { why: 'neither a Chat event type nor an add-on chat payload' });
  const payload = obj(chat[field]);
  const message = isObj(payload.message) ? payload.message : undefined;
  return {
    type: addOnPayloads[field] ?? 'UNSPECIFIED',
    eventTime: chat.eventTime,
    user: obj(chat.user),
    space: obj(payload.space ?? message?.space),
    message,
  };
}

function isoTime(v: unknown): string | undefined {
  const ms = typeof v === 'string' ? Date.parse(v) : Number.NaN;
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** Types whose message is what a person wrote (a card click carries the app's own card message). */
const messageTypes = new Set(['MESSAGE', 'ADDED_TO_SPACE', 'APP_COMMAND']);

function messageOf(p: ChatParts): EventMessage | undefined {
  if (!p.message || !messageTypes.has(p.type)) return undefined;
  const sender = obj(p.message.sender);
  const thread = str(obj(p.message.thread).name);
  return {
    id: str(p.message.name),
    conversation: str(p.space.name),
    sender: str(sender.name) ?? str(p.user.name),
    text: typeof p.message.text === 'string' ? p.message.text : undefined,
    ...(thread ? { thread } : {}),
    ...(typeof p.message.argumentText === 'string' ? { argumentText: p.message.argumentText } : {}),
  };
}

/** One request is one Chat event (either format). */
export function normalizeGoogleChat(body: Obj): ChannelEvent {
  const p = parts(body);
  if (!/^[A-Z][A-Z_]{0,63}$/.test(p.type))
    throw new RejectedError('bad_body', { why: 'unexpected Chat event type' });
  const messageName = str(p.message?.name);
  // message.name names a MESSAGE event; other events (a card click carries the clicked card's
  // message) are told apart by what happened, where, when and by whom.
  const key =
    p.type === 'MESSAGE' && messageName
      ? messageName
      : [p.type, str(p.space.name) ?? '', str(p.eventTime) ?? '', str(p.user.name) ?? ''].join('|');
  return {
    type: `googlechat.${p.type.toLowerCase()}`,
    key,
    subject: str(p.space.name) ?? str(obj(p.message?.thread).name),
    time: isoTime(p.eventTime),
    payload: body,
    message: messageOf(p),
  };
}

export function receiveGoogleChat(req: InboundRequest): Received {
  const { value, raw } = parseJsonObject(req);
  return { events: [normalizeGoogleChat(value)], reply: () => ({ status: 200, body: {} }), raw };
}
