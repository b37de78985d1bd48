import type { ChannelEvent, EventMessage, InboundRequest, Received } from '../../src/channel.js';
import { RejectedError } from '../../src/errors.js';
import { numberText } from '../../src/exact-json.js';
import { isJson, parseJsonObject } from '../../src/request.js';
import { isObject } from '../../src/values.js';

/**
 * One webhook request carries one Update: `update_id` plus exactly one optional field naming its
 * kind ("At most one of the optional parameters can be present in any given update").
 * https://core.telegram.org/bots/api#update
 */

type Json = Record<string, unknown>;

const id = numberText;

/** Updates whose field is a Message object. */
const messageFields = new Set([
  'message',
  'edited_message',
  'channel_post',
  'edited_channel_post',
  'business_message',
  'edited_business_message',
]);

/** The update's kind: its one field besides `update_id`. */
export function updateField(update: Json): string | undefined {
  return Object.keys(update).find((k) => k !== 'update_id' && isObject(update[k]));
}

/** The chat an update belongs to, where it has one (inline queries and payments have none). */
function chatId(item: Json): string | undefined {
  if (isObject(item.chat)) return id(item.chat.id);
  if (isObject(item.message) && isObject(item.message.chat)) return id(item.message.chat.id);
  if (isObject(item.voter_chat)) return id(item.voter_chat.id);
  return undefined;
}

function messageView(message: Json): EventMessage {
  const from = isObject(message.from)
    ? message.from
    : isObject(message.sender_chat)
      ? message.sender_chat
      : undefined;
  const text =
    typeof message.text === 'string'
      ? message.text
      : typeof message.caption === 'string'
        ? message.caption
        : undefined;
  return { id: id(message.message_id), conversation: chatId(message), sender: id(from?.id), text };
}

/** The event for one Update. Pure; never throws on any JSON object. */
export function normalizeTelegram(update: Json): ChannelEvent {
  const field = updateField(update);
  const item = field === undefined ? undefined : (update[field] as Json);
  const updateId = id(update.update_id);
  // An edit happened at edit_date; `date` is when the original was sent.
  const when = item?.edit_date ?? item?.date;
  const date = typeof when === 'number' && Number.isFinite(when) ? when : undefined;
  return {
    type: `telegram.${field ?? 'update'}`,
    // update_id alone is all digits, which BullMQ refuses as a job id.
    key: updateId && `update-${updateId}`,
    subject: item && chatId(item),
    time: date === undefined ? undefined : new Date(date * 1000).toISOString(),
    payload: update,
    message: field && item && messageFields.has(field) ? messageView(item) : undefined,
  };
}

export function receiveTelegram(req: InboundRequest): Received {
  const { value: update, raw } = parseJsonObject(req);
  if (id(update.update_id) === undefined)
    throw new RejectedError('bad_body', { why: 'not a Telegram update: no update_id' });
  return { events: [normalizeTelegram(update)], raw };
}

export const acceptsTelegram = (mediaType: string | undefined): boolean =>
  mediaType === undefined || isJson(mediaType);
