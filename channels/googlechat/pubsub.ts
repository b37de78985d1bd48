import { createHash } from 'node:crypto';
import type { ChannelEvent, LoopContext, LoopSpec } from '../../src/channel.js';
import { RejectedError } from '../../src/errors.js';
import { parseExactJson } from '../../src/exact-json.js';
import type { GoogleChatAccount } from './config.js';
import { pubsubAuth } from './credentials.js';
import { normalizeGoogleChat } from './normalize.js';
import { PubSubClient } from './pubsub-client.js';

/**
 * A Chat app whose connection is a Pub/Sub topic: Chat publishes each interaction event, as the
 * JSON the HTTP endpoint would get, base64 in `message.data`
 * (https://developers.google.com/workspace/chat/quickstart/pub-sub). The loop pulls the
 * subscription, emits `googlechat.<type>` exactly as the route does, and acknowledges only what is
 * in Redis; anything unacknowledged is redelivered by Pub/Sub after the ack deadline.
 *
 * The calls go through `PubSubClient` (google-auth-library's authorized request): the `googleapis`
 * package (over 200 MB, newest majors need Node 22) is deliberately not used for them.
 */
export interface PullOptions {
  /** Messages per pull. */
  readonly maxMessages?: number;
  /** HTTP timeout of one pull: above the time Pub/Sub may hold an empty pull open. */
  readonly timeoutMs?: number;
}

const defaultTimeoutMs = 120_000;

interface ReceivedMessage {
  readonly ackId: string;
  readonly message: {
    readonly data?: string;
    readonly messageId?: string;
    readonly publishTime?: string;
  };
  readonly deliveryAttempt?: number;
}

type Decoded = { ok: true; event: ChannelEvent } | { ok: false; why: string; bytes: Buffer };

/** One Pub/Sub message as the HTTP route would see its body. */
export function decodeChatMessage(received: ReceivedMessage): Decoded {
  const bytes = Buffer.from(received.message.data ?? '', 'base64');
  let body: unknown;
  let raw: string | undefined;
  try {
    const text = bytes.toString('utf8');
    const parsed = parseExactJson(text);
    body = parsed.value;
    if (parsed.inexact) raw = text;
  } catch {
    return { ok: false, why: 'data is not base64 JSON', bytes };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { ok: false, why: 'data is not a JSON object', bytes };
  try {
    const event = normalizeGoogleChat(body as Record<string, unknown>);
    return {
      ok: true,
      event: {
        ...event,
        key: event.key ?? received.message.messageId,
        time: event.time ?? received.message.publishTime,
        ...(raw === undefined ? {} : { raw }),
      },
    };
  } catch (err) {
    if (err instanceof RejectedError)
      return { ok: false, why: String(err.detail?.why ?? err.message), bytes };
    throw err;
  }
}

export function pubsubLoop(account: GoogleChatAccount, options: PullOptions = {}): LoopSpec {
  const maxMessages = options.maxMessages ?? 100;
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const subscription = account.subscription ?? '';
  return {
    name: 'pubsub-pull',
    async run(ctx: LoopContext) {
      await pull(ctx, new PubSubClient(account, await pubsubAuth(account)));
    },
  };

  async function pull(ctx: LoopContext, pubsub: PubSubClient): Promise<void> {
    ctx.log.info({ subscription }, 'googlechat pubsub: pulling');
    while (!ctx.signal.aborted) {
      const answer = await pubsub.call<{ receivedMessages?: ReceivedMessage[] }>(
        'pull',
        { maxMessages },
        timeoutMs,
        ctx.signal,
      );
      const events: ChannelEvent[] = [];
      const ackIds: string[] = [];
      for (const received of answer.receivedMessages ?? []) {
        const decoded = decodeChatMessage(received);
        if (decoded.ok) {
          events.push(decoded.event);
          ackIds.push(received.ackId);
        } else {
          rejected(ctx, received, decoded.why, decoded.bytes);
        }
      }
      if (events.length > 0) await ctx.emit(events);
      if (ackIds.length > 0) await pubsub.call('acknowledge', { ackIds }, 30_000, ctx.signal);
      ctx.ok();
    }
  }

  /**
   * An undecodable message is not acknowledged: dropping it would lose data the relay cannot read
   * but a person might. Pub/Sub redelivers it after the ack deadline, until the subscription's
   * dead-letter policy (maxDeliveryAttempts) moves it to the dead-letter topic, where it is kept
   * (https://cloud.google.com/pubsub/docs/handling-failures). Logged like a rejected request:
   * reason, size and SHA-256, never the body.
   */
  function rejected(ctx: LoopContext, received: ReceivedMessage, why: string, bytes: Buffer): void {
    ctx.log.warn(
      {
        reason: 'bad_body',
        why,
        subscription,
        messageId: received.message.messageId,
        deliveryAttempt: received.deliveryAttempt,
        bytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      },
      'googlechat pubsub message rejected: left unacknowledged for redelivery or the dead-letter topic',
    );
  }
}
