import type { ChannelEvent, EventMessage } from '../../src/channel.js';
import { objectOrUndefined as obj, nonEmptyString as str } from '../../src/values.js';
import type { GraphItem } from './graph-verify.js';

/**
 * One event per authenticated `value[]` item. Lifecycle notifications
 * (https://learn.microsoft.com/graph/change-notifications-lifecycle-events) carry `lifecycleEvent`
 * (reauthorizationRequired, subscriptionRemoved, missed) and no resource; everything else is a change notification (changeNotification resource type).
 */

/**
 * Dedupe key: the notification `id` when Graph sends one, else the subscription, change and the
 * resource's id and etag (a redelivery repeats them; an edit changes the etag). Without either there
 * is nothing stable to key on, and the event gets a fresh id.
 */
export function notificationKey(item: Record<string, unknown>): string | undefined {
  const id = str(item.id);
  if (id) return id;
  const data = obj(item.resourceData);
  const resourceId = str(data?.id);
  if (!resourceId) return undefined;
  return [
    str(item.subscriptionId) ?? '',
    str(item.changeType) ?? '',
    resourceId,
    str(data?.['@odata.etag']) ?? '',
  ].join('|');
}

/** Lifecycle items have no id: a redelivery repeats subscription, event and expiry. */
export function lifecycleKey(item: Record<string, unknown>): string | undefined {
  const id = str(item.id);
  if (id) return id;
  const subscriptionId = str(item.subscriptionId);
  if (!subscriptionId) return undefined;
  return [
    'lifecycle',
    subscriptionId,
    str(item.lifecycleEvent) ?? '',
    str(item.subscriptionExpirationDateTime) ?? '',
  ].join('|');
}

/** A decrypted Teams chatMessage, best effort: https://learn.microsoft.com/graph/api/resources/chatmessage */
function chatMessage(resource: unknown): EventMessage | undefined {
  const m = obj(resource);
  if (!m) return undefined;
  const body = obj(m.body);
  const user = obj(obj(m.from)?.user);
  const conversation = str(m.chatId) ?? str(obj(m.channelIdentity)?.channelId);
  if (!conversation && !body) return undefined;
  return {
    id: str(m.id),
    conversation,
    sender: str(user?.id),
    text: str(body?.content),
    senderName: str(user?.displayName),
    contentType: str(body?.contentType),
  };
}

export function normalizeGraphItem({ item, resource }: GraphItem): ChannelEvent {
  if (item.lifecycleEvent !== undefined) {
    return { type: 'teams.lifecycle', key: lifecycleKey(item), payload: item };
  }
  // Nothing the provider sent is dropped: the decrypted resource sits beside the encrypted one.
  const payload = resource === undefined ? item : { ...item, decryptedContent: resource };
  const message = resource === undefined ? undefined : chatMessage(resource);
  return {
    type: 'teams.notification',
    key: notificationKey(item),
    payload,
    ...(message ? { message, subject: message.conversation } : {}),
  };
}
