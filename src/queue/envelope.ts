import { createHash, randomUUID } from 'node:crypto';
import type { AnyChannel, ChannelEvent, EventMessage } from '../channel.js';

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
  const data: { payload: unknown; message?: EventMessage; headers?: Record<string, string> } = {
    payload: event.payload,
  };
  if (event.message) data.message = event.message;
  if (event.headers) data.headers = { ...event.headers };
  return {
    specversion: '1.0',
    id: eventId(channel.name, account, event.key),
    source: `/${channel.urlName}/${account}`,
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
