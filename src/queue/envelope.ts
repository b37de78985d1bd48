import { createHash, randomUUID } from 'node:crypto';
import { type AnyChannel, type ChannelEvent, type EventMessage, urlNameOf } from '../channel.js';

/** What workers consume: a CloudEvents 1.0 event in structured JSON form (contract section 4). */
export interface RelayEvent {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject?: string;
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly channel: string;
  readonly account: string;
  readonly receivedat: string;
  /** A sender preset's event name (`X-GitHub-Event`, Stripe's `type`): a CloudEvents extension attribute. */
  readonly senderevent?: string;
  /** Set on a replayed copy: the id of the event it copies. */
  readonly replayof?: string;
  readonly data: {
    readonly payload: unknown;
    readonly message?: EventMessage;
    readonly headers?: Readonly<Record<string, string>>;
    /** The exact body text, where the runtime could not keep a big integer of `payload` exact. */
    readonly raw?: string;
  };
}

/**
 * Event ids are stable per provider event (two deliveries, one id) and valid BullMQ job ids: no
 * `:`, never all digits, URL-safe. The provider key is hashed with the channel and account, so one
 * account cannot collide with another's events.
 */
export function eventId(channel: string, account: string, key: string | undefined): string {
  if (key === undefined || key === '') return `${channel}-${randomUUID()}`;
  const digest = createHash('sha256')
    .update(`${channel}\n${account}\n${key}`)
    .digest('base64url')
    .slice(0, 27);
  return `${channel}-${digest}`;
}

/**
 * The window in which a sender's retry of a keyless event is absorbed (docs/reliability.md). A
 * request without a provider key (no `webhook-id`, no `Idempotency-Key`) may have landed although
 * it was answered 503 (Redis slow past 2 s), and the sender then retries the same bytes. Such an
 * event carries `retryKey`, a digest of the request; its id is that digest plus the window it
 * arrived in, and a dedupe key on the digest alone lives for one window. So a retry within the
 * window makes no second job, and identical bytes sent again after it are a new event.
 */
export const retryWindowMs = 10 * 60_000;

/** Separates a retry-keyed event id from its window number; never in other ids. */
const windowMark = '~';

function retryKeyedId(channel: string, account: string, retryKey: string, receivedAt: number): string {
  const window = Math.floor(receivedAt / retryWindowMs).toString(36);
  return `${eventId(channel, account, `retry\n${retryKey}`)}${windowMark}${window}`;
}

const freshId = /^[a-z]+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The BullMQ deduplication an event's job gets. A provider key: the event id, for
 * `queue.dedupeHours`. A retry key: the digest without its window, for `retryWindowMs`. A fresh
 * random id can never come again: no dedupe key at all (it would only cost Redis memory).
 */
export function dedupeOf(id: string, providerTtlMs: number): { id: string; ttl: number } | undefined {
  if (freshId.test(id)) return undefined;
  const mark = id.lastIndexOf(windowMark);
  if (mark > 0 && !id.includes('.', mark)) return { id: id.slice(0, mark), ttl: retryWindowMs };
  return { id, ttl: providerTtlMs };
}

export function replayId(id: string): string {
  return `${id}.r${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
}

export function toEnvelope(
  channel: AnyChannel,
  account: string,
  event: ChannelEvent,
  receivedAt: number,
): RelayEvent {
  const receivedat = new Date(receivedAt).toISOString();
  const data: { payload: unknown; message?: EventMessage; headers?: Record<string, string>; raw?: string } = {
    payload: event.payload,
  };
  if (event.message) data.message = event.message;
  if (event.headers) data.headers = { ...event.headers };
  if (event.raw !== undefined) data.raw = event.raw;
  return {
    specversion: '1.0',
    id:
      event.key === undefined && event.retryKey !== undefined
        ? retryKeyedId(channel.name, account, event.retryKey, receivedAt)
        : eventId(channel.name, account, event.key),
    source: `/${urlNameOf(channel)}/${account}`,
    type: event.type,
    ...(event.subject ? { subject: event.subject } : {}),
    time: event.time ?? receivedat,
    datacontenttype: 'application/json',
    channel: channel.name,
    account,
    receivedat,
    ...(event.senderevent ? { senderevent: event.senderevent } : {}),
    data,
  };
}
