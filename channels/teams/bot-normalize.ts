import type { ChannelEvent, EventMessage } from '../../src/channel.js';
import { objectOrUndefined as obj, nonEmptyString as str } from '../../src/values.js';

/**
 * One `teams.activity` per Bot Framework activity (Bot Framework Activity schema,
 * https://github.com/microsoft/botframework-sdk/blob/main/specs/botframework-activity/botframework-activity.md).
 * Activity ids are unique within a conversation, so the dedupe key is both.
 */

function validTime(value: unknown): string | undefined {
  const s = str(value);
  if (!s) return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

export function normalizeActivity(activity: Record<string, unknown>): ChannelEvent {
  const id = str(activity.id);
  const conversation = str(obj(activity.conversation)?.id);
  const from = obj(activity.from);
  const text = typeof activity.text === 'string' ? activity.text : undefined;
  const message: EventMessage | undefined =
    activity.type === 'message' || text !== undefined
      ? {
          id,
          conversation,
          sender: str(from?.id),
          text,
          senderName: str(from?.name),
          aadObjectId: str(from?.aadObjectId),
        }
      : undefined;
  return {
    type: 'teams.activity',
    key: id ? `${id}|${conversation ?? ''}` : undefined,
    subject: conversation,
    time: validTime(activity.timestamp),
    payload: activity,
    ...(message ? { message } : {}),
  };
}
