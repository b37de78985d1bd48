import type { LogLevel, Logger as SlackLogger } from '@slack/socket-mode';
import type { Logger } from 'pino';
import type { ChannelEvent, LoopContext, LoopSpec } from '../../src/channel.js';
import { errorMessage } from '../../src/errors.js';
import { lazy } from '../../src/lazy.js';
import { isObject as isObj } from '../../src/values.js';
import type { SlackAccount } from './config.js';
import { normalizeCommand, normalizeEventCallback, normalizeInteraction } from './normalize.js';
import { openError } from './socket-errors.js';

/** What `SocketModeClient` hands a `slack_event` listener (v3, SocketModeClient.onWebSocketMessage). */
interface SocketEvent {
  ack(response?: Record<string, unknown>): Promise<void>;
  readonly envelope_id: string;
  readonly type: string;
  readonly body: unknown;
  readonly retry_num?: number;
  readonly retry_reason?: string;
}

type Obj = Record<string, unknown>;

/** A socket that closes this often within `flapWindowMs` hands over to the supervisor's backoff. */
const flapLimit = 3;
const flapWindowMs = 10_000;

const socketModeSdk = lazy(() => import('@slack/socket-mode'));

/**
 * The envelope's payload is what the HTTP route gets as its body, so the same normalize functions
 * (and so the same dedupe keys) apply: https://api.slack.com/apis/socket-mode#events.
 * The bytes given for the fallback key are the payload's JSON: only envelopes without an id use it.
 */
export function socketEvents(type: string, body: unknown): ChannelEvent[] | undefined {
  if (!isObj(body)) return undefined;
  const bytes = () => Buffer.from(JSON.stringify(body));
  switch (type) {
    case 'events_api':
      return [normalizeEventCallback(body, bytes())];
    case 'interactive':
      return [normalizeInteraction(body, bytes())];
    case 'slash_commands': {
      // The HTTP route sees a form: every field a string.
      const form: Record<string, string> = {};
      for (const [k, v] of Object.entries(body))
        if (v !== null && v !== undefined) form[k] = typeof v === 'string' ? v : JSON.stringify(v);
      return [normalizeCommand(form)];
    }
    default:
      return undefined;
  }
}

/**
 * The SDK's log lines go to the relay's logger. Its debug lines carry whole payloads (user messages),
 * so they are dropped; the level stays INFO so the SDK builds no debug strings for acks.
 */
function sdkLogger(log: Logger, level: LogLevel): SlackLogger {
  return {
    debug: () => {},
    info: (...msg) => log.debug({ sdk: 'socket-mode' }, msg.map(String).join(' ')),
    warn: (...msg) => log.warn({ sdk: 'socket-mode' }, msg.map(String).join(' ')),
    error: (...msg) => log.warn({ sdk: 'socket-mode' }, msg.map(String).join(' ')),
    setLevel: () => {},
    getLevel: () => level,
    setName: () => {},
  };
}

/** Queues one envelope, and acknowledges it only once its event is in Redis. */
async function deliver(event: SocketEvent, account: SlackAccount, ctx: LoopContext): Promise<void> {
  const log = ctx.log.child({ envelope: event.envelope_id, envelopeType: event.type });
  const events = socketEvents(event.type, event.body);
  if (events === undefined) {
    // Nothing the contract has a type for; acknowledged so Slack does not retry it forever.
    log.warn('unknown Socket Mode envelope type; acknowledged without queueing it');
    await event.ack().catch(() => {});
    return;
  }
  let ids: readonly string[];
  try {
    ids = await ctx.emit(events);
  } catch (err) {
    log.warn(
      { err: errorMessage(err), account: account.account },
      'could not queue a Socket Mode envelope; not acknowledged, Slack will send it again',
    );
    return;
  }
  try {
    await event.ack();
  } catch (err) {
    // The socket went away after the write: Slack re-sends, dedupe absorbs it.
    log.debug({ err: errorMessage(err), ids }, 'ack not sent; Slack will redeliver');
    return;
  }
  log.debug({ ids, retry: event.retry_num, reason: event.retry_reason }, 'socket mode envelope queued');
  ctx.ok();
}

/** Resolves once `signal` aborts. */
const aborted = (signal: AbortSignal) =>
  new Promise<'aborted'>((resolve) => {
    if (signal.aborted) resolve('aborted');
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });

/**
 * Slack Socket Mode for one account: open a connection (apps.connections.open with the app-level
 * token, then the WebSocket), queue each envelope and ack it after the write, and open a new
 * connection whenever Slack asks (`disconnect`) or the socket drops. The SDK's own reconnect is off:
 * its delays grow to seconds, while a fresh connection here follows at once and the supervisor owns
 * backoff (refused tokens, rate limits, a socket that keeps dropping).
 */
export function socketModeLoop(account: SlackAccount): LoopSpec {
  return {
    name: 'socket-mode',
    async run(ctx) {
      const appToken = account.appToken?.[0];
      if (appToken === undefined) return;
      const { LogLevel, SocketModeClient } = await socketModeSdk();
      const client = new SocketModeClient({
        appToken,
        autoReconnectEnabled: false,
        logger: sdkLogger(ctx.log, LogLevel.INFO),
        clientOptions: {
          slackApiUrl: account.apiUrl,
          // Failures of apps.connections.open go to the supervisor (Retry-After, credentials), not
          // to the Web API client's own retries (100 of them, set by SocketModeClient).
          retryConfig: { retries: 0 },
          rejectRateLimitedCalls: true,
          timeout: 10_000,
        },
      });
      client.on('slack_event', (event: SocketEvent) => void deliver(event, account, ctx));
      // The reason is only logged; https://api.slack.com/apis/socket-mode#disconnect
      client.on('ws_message', (data: unknown) => {
        if (typeof data !== 'string' || !data.includes('"disconnect"')) return;
        try {
          const message = JSON.parse(data) as Obj;
          if (message.type === 'disconnect')
            ctx.log.info({ reason: message.reason }, 'Slack asked for a new Socket Mode connection');
        } catch {
          // the SDK ignores what it cannot parse; so does this
        }
      });

      const stop = aborted(ctx.signal);
      let starting: Promise<unknown> | undefined;
      const closes: number[] = [];
      try {
        while (!ctx.signal.aborted) {
          const closed = new Promise<'closed'>((resolve) =>
            client.once('disconnected', () => resolve('closed')),
          );
          starting = client.start();
          const started = await Promise.race([
            starting.then(
              () => 'open' as const,
              (err: unknown) => {
                throw openError(err, account);
              },
            ),
            stop,
          ]);
          if (started === 'aborted') break;
          starting = undefined;
          ctx.log.info('Socket Mode connected');
          ctx.report(undefined);
          ctx.ok();
          if ((await Promise.race([closed, stop])) === 'aborted') break;
          const now = Date.now();
          closes.push(now);
          while (closes.length > 0 && (closes[0] ?? now) < now - flapWindowMs) closes.shift();
          if (closes.length >= flapLimit)
            throw new Error(
              `Socket Mode connection closed ${closes.length} times within ${flapWindowMs / 1000} s; reconnecting after a pause`,
            );
          ctx.log.info('Socket Mode connection closed; opening a new one');
        }
      } finally {
        await client.disconnect().catch(() => {});
        // A start still waiting on apps.connections.open would open a socket after the disconnect.
        if (starting) {
          await starting.catch(() => {});
          await client.disconnect().catch(() => {});
        }
        client.removeAllListeners('slack_event');
      }
    },
  };
}
