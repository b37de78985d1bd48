import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import { errorMessage, RelayError } from '../errors.js';
import { deliveryHeaders } from '../http/delivery-request.js';
import type { RelayEvent } from '../queue/envelope.js';
import { assertStandardWebhookSecret } from '../verify/standard-webhooks.js';
import { fail } from './output.js';
import { SseParser } from './sse.js';

export interface ListenFlags {
  readonly config?: string;
  readonly forwardTo: string;
  readonly url?: string;
  readonly token?: string;
  readonly channel?: string;
  readonly account?: string;
  readonly type?: string;
  readonly since?: string;
  readonly secret?: string;
}

/** Reconnection delay: doubles from the server's `retry:` hint up to this, each jittered down by up to half. */
const maxDelayMs = 15_000;
/** A local target gets this long to answer one event. */
const forwardTimeoutMs = 10_000;
/** With no byte from the relay (heartbeats come every 15 s) for this long, the link is taken for dead. */
const idleMs = 60_000;
/** Event ids remembered, so an event sent again after a resume (or copied to several queues) is forwarded once. */
const recentIds = 10_000;

/** Flags, then RELAY_OPS_URL / RELAY_ADMIN_TOKEN, then the config file's ops port and admin token. */
function target(flags: ListenFlags): { opsUrl: string; token: string } {
  let opsUrl = flags.url || process.env.RELAY_OPS_URL || undefined;
  let token = flags.token || process.env.RELAY_ADMIN_TOKEN || undefined;
  const path = resolveConfigPath(flags.config, process.env, process.cwd());
  if ((!opsUrl || !token) && path && existsSync(path)) {
    const { config } = loadConfig(path);
    const host =
      config.server.opsHost && !/^(0\.0\.0\.0|::)$/.test(config.server.opsHost)
        ? config.server.opsHost
        : '127.0.0.1';
    opsUrl ??= `http://${host.includes(':') ? `[${host}]` : host}:${config.server.opsPort}`;
    token ??= config.admin.token?.[0];
  } else if (flags.config && !existsSync(flags.config)) {
    throw new RelayError('bad_request', `${flags.config}: config file not found`);
  }
  if (!token)
    throw new RelayError(
      'bad_request',
      'no admin token: pass --token, set RELAY_ADMIN_TOKEN, or point --config at a file with admin.token',
    );
  return { opsUrl: (opsUrl ?? 'http://127.0.0.1:9090').replace(/\/+$/, ''), token };
}

function checkUrl(flag: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RelayError('bad_request', `${flag}: not a URL; give one such as http://localhost:3000/hooks`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new RelayError('bad_request', `${flag} ${value}: use an http:// or https:// URL`);
  // fetch refuses them, and they would end up in what this command prints.
  if (url.username || url.password)
    throw new RelayError('bad_request', `${flag}: put no user or password in the URL`);
  return url;
}

/** Refused with no hope that waiting helps: stop and say why. */
class Refused extends Error {}

/** A fetch failure with its cause (`fetch failed: connect ECONNREFUSED 127.0.0.1:3000`). */
const reason = (err: unknown): string => {
  const cause = (err as { cause?: unknown }).cause;
  return cause ? `${errorMessage(err)}: ${errorMessage(cause)}` : errorMessage(err);
};

/** `2026-12-03 18:00:01  webhook/billing/invoices  webhook.received  webhook-abc  → 200  12 ms`. */
export function listenLine(event: RelayEvent, outcome: string, ms: number): string {
  return [
    (event.receivedat ?? '').replace('T', ' ').slice(0, 19),
    `${event.channel}/${event.account}`,
    event.type,
    event.id,
    `→ ${outcome}`,
    `${Math.round(ms)} ms`,
  ].join('  ');
}

/**
 * `relay listen`: follows `GET /admin/listen` over one outbound connection and POSTs each event to
 * a local URL as a destination would. Reconnects after any drop and resumes from the last position
 * it saw; forwards each event once; never retries a local failure (the relay keeps the event).
 */
export async function listenCommand(flags: ListenFlags): Promise<void> {
  let opsUrl: string;
  let token: string;
  let forwardTo: URL;
  const secrets: string[] = [];
  try {
    ({ opsUrl, token } = target(flags));
    checkUrl('--url', opsUrl);
    forwardTo = checkUrl('--forward-to', flags.forwardTo);
    if (flags.secret) {
      try {
        assertStandardWebhookSecret(flags.secret);
      } catch {
        throw new RelayError(
          'bad_request',
          '--secret: not a Standard Webhooks secret; give whsec_ and base64',
        );
      }
      secrets.push(flags.secret);
    }
  } catch (err) {
    fail(err);
  }

  const query = new URLSearchParams();
  for (const key of ['channel', 'account', 'type', 'since'] as const) {
    const value = flags[key];
    if (value) query.set(key, value);
  }
  const streamUrl = `${opsUrl}/admin/listen${query.size ? `?${query}` : ''}`;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const seen = new Set<string>();
  let forwarded = 0;
  const forward = async (json: string): Promise<void> => {
    let event: RelayEvent;
    try {
      event = JSON.parse(json) as RelayEvent;
    } catch {
      process.stderr.write('relay: skipped a message that is not a CloudEvent\n');
      return;
    }
    if (seen.has(event.id)) return;
    seen.add(event.id);
    if (seen.size > recentIds) seen.delete(seen.values().next().value as string);
    const started = performance.now();
    let outcome: string;
    try {
      const res = await fetch(forwardTo, {
        method: 'POST',
        body: json,
        headers: deliveryHeaders({
          id: event.id,
          body: json,
          secrets,
          nowMs: Date.now(),
          sender: 'relay listen',
        }),
        redirect: 'manual',
        signal: AbortSignal.any([stop.signal, AbortSignal.timeout(forwardTimeoutMs)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      outcome = String(res.status);
    } catch (err) {
      if (stop.signal.aborted) return;
      outcome = `failed (${reason(err)})`;
    }
    forwarded += 1;
    process.stdout.write(`${listenLine(event, outcome, performance.now() - started)}\n`);
  };

  let position: string | undefined;
  let attempt = 0;
  let retryMs = 1000;
  while (!stop.signal.aborted) {
    const connection = new AbortController();
    let idle: NodeJS.Timeout | undefined;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () => connection.abort(new Error(`nothing from the relay for ${idleMs / 1000} s`)),
        idleMs,
      );
    };
    try {
      touch();
      const res = await fetch(streamUrl, {
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'text/event-stream',
          ...(position ? { 'last-event-id': position } : {}),
        },
        signal: AbortSignal.any([stop.signal, connection.signal]),
      });
      if (res.status === 401 || res.status === 400 || res.status === 404) {
        const body = await res.text().catch(() => '');
        const detail = /"error":"([^"]*)"/.exec(body)?.[1] ?? `HTTP ${res.status}`;
        throw new Refused(
          res.status === 404
            ? `${opsUrl} has no /admin/listen (${detail}): is it a relay's ops port, with admin.token set?`
            : `${opsUrl} refused the stream: ${detail}`,
        );
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      process.stderr.write(
        position
          ? `relay: reconnected to ${opsUrl}; resuming\n`
          : `relay: listening to ${opsUrl}, forwarding to ${forwardTo.href}; Ctrl-C to stop\n`,
      );
      attempt = 0;
      const parser = new SseParser();
      for await (const chunk of res.body) {
        touch();
        for (const message of parser.push(chunk)) {
          if (message.event === 'gap') {
            process.stderr.write(
              `relay: warning: the relay's event stream no longer reaches back to the resume point; events may be missed (${message.data})\n`,
            );
          } else if (message.event === 'message' && message.data !== undefined) {
            await forward(message.data);
            if (stop.signal.aborted) break;
            touch();
          }
          // Only once the event is forwarded: a drop before this resumes at (and dedupes) it.
          if (message.lastEventId) position = message.lastEventId;
        }
        retryMs = parser.retryMs ?? retryMs;
      }
      if (!stop.signal.aborted) throw new Error('the relay ended the stream');
    } catch (err) {
      if (stop.signal.aborted) break;
      if (err instanceof Refused) fail(err);
      const why = connection.signal.aborted ? errorMessage(connection.signal.reason) : reason(err);
      const delay = Math.min(maxDelayMs, retryMs * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2);
      attempt += 1;
      process.stderr.write(`relay: stream lost (${why}); reconnecting in ${(delay / 1000).toFixed(1)} s\n`);
      await sleep(delay, undefined, { signal: stop.signal }).catch(() => undefined);
    } finally {
      clearTimeout(idle);
    }
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.stderr.write(`relay: stopped; ${forwarded} event(s) forwarded\n`);
  process.exit(0);
}
