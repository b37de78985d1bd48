import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FailureQueue, type FakeReply, readBody } from './http.js';

/**
 * A local stand-in for the Telegram Bot API (`POST {apiRoot}/bot<token>/<method>`), on port 0.
 * Speaks setWebhook, getWebhookInfo, deleteWebhook, getMe and getUpdates, records every call, and
 * can be told to answer the next call of a method with an error (429 with retry_after, 500, …).
 *
 * getUpdates as Telegram documents it (https://core.telegram.org/bots/api#getupdates): 409 while a
 * webhook is set; `offset` confirms (forgets) every update below it; with nothing pending the
 * request is held up to `timeout` seconds and answered as soon as an update is offered; a second
 * getUpdates while one is held ends the first with 409 "terminated by other getUpdates request".
 */
export interface BotApiCall {
  readonly method: string;
  readonly token: string;
  readonly params: Record<string, unknown>;
  /** Date.now() when the request arrived. */
  readonly at: number;
}

export interface TelegramUpdate {
  readonly update_id: number;
  readonly [field: string]: unknown;
}

export interface FakeWebhookState {
  url: string;
  secretToken: string | undefined;
  allowedUpdates: string[] | undefined;
  pendingUpdateCount: number;
  lastErrorDate: number | undefined;
  lastErrorMessage: string | undefined;
}

export type { FakeReply };

export interface FakeBotApi {
  /** Use as the account's `apiRoot`. */
  readonly url: string;
  readonly token: string;
  readonly calls: BotApiCall[];
  /** What getWebhookInfo reports; tests change it to simulate drift. */
  readonly webhook: FakeWebhookState;
  callsOf(method: string): BotApiCall[];
  /** Updates Telegram holds for the bot; a held getUpdates is answered at once. */
  offer(...updates: TelegramUpdate[]): void;
  /** update_ids in the order getUpdates returned them (a redelivery appears twice). */
  readonly delivered: number[];
  /** How often a getUpdates ended another one still held (two pollers on one bot). */
  readonly conflicts: number;
  /** The next call of `method` gets this answer instead of the normal one. */
  failNext(method: string, reply: FakeReply): void;
  /** Resolves once `method` has been called at least `count` times. */
  waitFor(method: string, count?: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export const tooManyRequests = (retryAfterSec: number): FakeReply => ({
  status: 429,
  body: {
    ok: false,
    error_code: 429,
    description: `Too Many Requests: retry after ${retryAfterSec}`,
    parameters: { retry_after: retryAfterSec },
  },
});

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (text === '') return {};
  const parsed: unknown = JSON.parse(text);
  return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : {};
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const conflictWebhook: FakeReply = {
  status: 409,
  body: {
    ok: false,
    error_code: 409,
    description:
      "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
  },
};
const conflictOtherPoll: FakeReply = {
  status: 409,
  body: {
    ok: false,
    error_code: 409,
    description:
      'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
  },
};

export async function startFakeBotApi(token: string): Promise<FakeBotApi> {
  const calls: BotApiCall[] = [];
  let pending: TelegramUpdate[] = [];
  const delivered: number[] = [];
  let conflicts = 0;
  /** The getUpdates being held, if any: answer() ends it. */
  let held: { answer(reply: FakeReply): void; limit: number } | undefined;
  const failures = new FailureQueue();
  const waiters: Array<() => void> = [];
  const webhook: FakeWebhookState = {
    url: '',
    secretToken: undefined,
    allowedUpdates: undefined,
    pendingUpdateCount: 0,
    lastErrorDate: undefined,
    lastErrorMessage: undefined,
  };

  const answer = (method: string, params: Record<string, unknown>): FakeReply => {
    switch (method) {
      case 'setWebhook':
        webhook.url = typeof params.url === 'string' ? params.url : '';
        webhook.secretToken = typeof params.secret_token === 'string' ? params.secret_token : undefined;
        if (Array.isArray(params.allowed_updates))
          webhook.allowedUpdates = params.allowed_updates.map(String);
        return { status: 200, body: { ok: true, result: true, description: 'Webhook was set' } };
      case 'deleteWebhook':
        webhook.url = '';
        if (params.drop_pending_updates === true) webhook.pendingUpdateCount = 0;
        return { status: 200, body: { ok: true, result: true, description: 'Webhook was deleted' } };
      case 'getWebhookInfo':
        return {
          status: 200,
          body: {
            ok: true,
            result: {
              url: webhook.url,
              has_custom_certificate: false,
              pending_update_count: webhook.pendingUpdateCount,
              ...(webhook.allowedUpdates ? { allowed_updates: webhook.allowedUpdates } : {}),
              ...(webhook.lastErrorDate ? { last_error_date: webhook.lastErrorDate } : {}),
              ...(webhook.lastErrorMessage ? { last_error_message: webhook.lastErrorMessage } : {}),
            },
          },
        };
      case 'getMe':
        return {
          status: 200,
          body: {
            ok: true,
            result: {
              id: Number(token.split(':')[0]),
              is_bot: true,
              first_name: 'Relay Test',
              username: 'relay_test_bot',
              can_join_groups: true,
            },
          },
        };
      default:
        return {
          status: 404,
          body: { ok: false, error_code: 404, description: 'Not Found: method not found' },
        };
    }
  };

  const updatesReply = (limit: number): FakeReply => {
    const batch = pending.slice(0, limit);
    delivered.push(...batch.map((u) => u.update_id));
    return { status: 200, body: { ok: true, result: batch } };
  };

  const getUpdates = (params: Record<string, unknown>, res: ServerResponse): void => {
    if (webhook.url !== '') {
      send(res, conflictWebhook.status, conflictWebhook.body);
      return;
    }
    if (typeof params.offset === 'number') {
      const offset = params.offset;
      pending = pending.filter((u) => u.update_id >= offset);
    }
    if (held) {
      conflicts++;
      held.answer(conflictOtherPoll);
    }
    const limit = typeof params.limit === 'number' ? params.limit : 100;
    const timeoutSec = typeof params.timeout === 'number' ? params.timeout : 0;
    if (pending.length > 0 || timeoutSec <= 0) {
      const reply = updatesReply(limit);
      send(res, reply.status, reply.body);
      return;
    }
    const timer = setTimeout(() => me.answer(updatesReply(limit)), timeoutSec * 1000);
    const me = {
      limit,
      answer(reply: FakeReply) {
        clearTimeout(timer);
        if (held === me) held = undefined;
        if (!res.writableEnded) send(res, reply.status, reply.body);
      },
    };
    held = me;
    // The client gave up (aborted): nothing to answer, and no conflict with its next call.
    res.on('close', () => {
      clearTimeout(timer);
      if (held === me) held = undefined;
    });
  };

  const server = createServer(async (req, res) => {
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (!match || req.method !== 'POST')
      return send(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, callToken = '', method = ''] = match;
    let params: Record<string, unknown>;
    try {
      params = await readJson(req);
    } catch {
      return send(res, 400, { ok: false, error_code: 400, description: 'Bad Request: invalid JSON' });
    }
    calls.push({ method, token: callToken, params, at: Date.now() });
    for (const wake of waiters.splice(0)) wake();
    if (callToken !== token)
      return send(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const failure = failures.take(method);
    if (failure) return send(res, failure.status, failure.body);
    if (method === 'getUpdates') return getUpdates(params, res);
    const reply = answer(method, params);
    send(res, reply.status, reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const callsOf = (method: string) => calls.filter((c) => c.method === method);
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    calls,
    webhook,
    callsOf,
    offer(...updates) {
      pending.push(...updates);
      if (held) held.answer(updatesReply(held.limit));
    },
    delivered,
    get conflicts() {
      return conflicts;
    },
    failNext(method, reply) {
      failures.add(method, reply);
    },
    async waitFor(method, count = 1, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (callsOf(method).length < count) {
        if (Date.now() > deadline)
          throw new Error(
            `fake Bot API: ${method} called ${callsOf(method).length} times, expected ${count}`,
          );
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
