/*
 * A loop's inbox: a Redis stream that inbound routes on any replica append to and the loop's lease
 * holder reads, so a request that lands on one replica reaches the loop running on another (Graph
 * lifecycle notifications → the Teams subscription loop). Messages stay until the loop acks them,
 * so a holder that dies mid-way leaves them to the next one. Capped: an unread inbox cannot grow
 * without bound.
 */
import { errorMessage, UnavailableError } from '../errors.js';
import type { RedisClient } from '../redis/connection.js';

export interface InboxMessage {
  readonly id: string;
  readonly message: string;
}

const maxMessages = 1000;

export const inboxKey = (prefix: string, loopId: string): string => `${prefix}:relay:inbox:${loopId}`;

export async function postToInbox(redis: RedisClient, key: string, message: string): Promise<void> {
  try {
    await redis.xadd(key, 'MAXLEN', '~', String(maxMessages), '*', 'm', message);
  } catch (err) {
    throw new UnavailableError(`could not hand a message to the loop: ${errorMessage(err)}`, { cause: err });
  }
}

export async function readInbox(redis: RedisClient, key: string, count = 100): Promise<InboxMessage[]> {
  const entries = await redis.xrange(key, '-', '+', 'COUNT', count);
  return entries.map(([id, fields]) => ({ id, message: fields[1] ?? '' }));
}

export async function ackInbox(redis: RedisClient, key: string, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await redis.xdel(key, ...ids);
}
