import type { ChannelEvent } from '../../src/channel.js';
import { nonEmptyString as str } from '../../src/values.js';
import type { GraphItem } from './graph.js';

/** `changeKey` is the item's version; `@odata.etag` carries the same value when it was not selected. */
const versionOf = (item: GraphItem): string | undefined =>
  str(item.changeKey) ?? str(item['@odata.etag'])?.replace(/^W\/"(.*)"$/, '$1');

/**
 * One delta item → `outlook.removed` (`@removed`) or `outlook.message`. The key is id + version, so
 * an item that changed is a new event and the same version delivered again is not.
 */
export function normalizeOutlookItem(item: GraphItem): ChannelEvent | undefined {
  const id = str(item.id);
  if (!id) return undefined;
  if (item['@removed'] !== undefined) return { type: 'outlook.removed', key: `${id}|removed`, payload: item };
  const conversation = str(item.conversationId);
  const from = item.from as { emailAddress?: { address?: unknown } } | undefined;
  const version = versionOf(item);
  return {
    type: 'outlook.message',
    key: version ? `${id}|${version}` : id,
    subject: conversation,
    time: str(item.receivedDateTime),
    payload: item,
    message: {
      id,
      conversation,
      sender: str(from?.emailAddress?.address),
      text: str(item.bodyPreview),
      subject: str(item.subject),
    },
  };
}
