import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './http.js';

/**
 * A local stand-in for the Microsoft identity platform token endpoint (client credentials) and
 * Graph's `/subscriptions` API, on port 0: create, list, get, renew (PATCH), delete and reauthorize,
 * with bearer tokens checked, every call recorded, and failures on demand (a subscription that
 * vanished → 404, throttling → 429 with Retry-After).
 */
export interface GraphCall {
  readonly method: string;
  /** Path under the Graph root, e.g. `/subscriptions/{id}`; `/token` for the token endpoint. */
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly at: number;
}

export interface FakeSubscription {
  id: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | undefined;
  clientState: string | undefined;
  expirationDateTime: string;
}

export interface FakeGraph {
  /** Use as the account's `graphUrl`. */
  readonly graphUrl: string;
  /** Use as `credentials.tokenUrl`. */
  readonly tokenUrl: string;
  readonly calls: GraphCall[];
  readonly subscriptions: Map<string, FakeSubscription>;
  /** Grant at most this lifetime, like Graph shortening a request; default: what was asked. */
  maxLifetimeMs: number | undefined;
  /** Takes this bearer token as if the token endpoint had issued it (static accessToken credentials). */
  allowToken(token: string): void;
  /** Calls matching method and path (`/subscriptions` exactly; `/subscriptions/` and anything under it). */
  callsOf(method: string, path: string): GraphCall[];
  /** The next call matching method and path gets 429 with this Retry-After (seconds). */
  throttleNext(method: string, path: string, retryAfterSec: number): void;
  /** Resolves once `count` calls match method and path. */
  waitFor(method: string, path: string, count?: number, timeoutMs?: number): Promise<GraphCall[]>;
  reset(): void;
  close(): Promise<void>;
}

export const fakeClientId = 'fake-client-id';
export const fakeClientSecret = 'fake-client-secret';

function send(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, body === undefined ? headers : { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

const graphError = (code: string, message: string) => ({ error: { code, message } });

export async function startFakeGraph(): Promise<FakeGraph> {
  const calls: GraphCall[] = [];
  const subscriptions = new Map<string, FakeSubscription>();
  const tokens = new Set<string>();
  const throttles: Array<{ method: string; path: string; retryAfterSec: number }> = [];
  const waiters: Array<() => void> = [];
  /** `/subscriptions` matches that path only; `/subscriptions/` every path under it. */
  const matches = (path: string, pattern: string) =>
    path === pattern || (pattern.endsWith('/') && path.startsWith(pattern));
  const matching = (method: string, pattern: string) =>
    calls.filter((c) => c.method === method && matches(c.path, pattern));

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => send(res, 500, graphError('fake', String(err))));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    const isToken = url.pathname.endsWith('/oauth2/v2.0/token');
    const path = isToken ? '/token' : url.pathname.replace(/^\/v1\.0/, '');
    const body: Record<string, unknown> = isToken
      ? Object.fromEntries(new URLSearchParams(raw))
      : raw === ''
        ? {}
        : (JSON.parse(raw) as Record<string, unknown>);
    calls.push({ method, path, body, at: Date.now() });
    for (const wake of waiters.splice(0)) wake();

    const throttle = throttles.findIndex((t) => t.method === method && matches(path, t.path));
    if (throttle >= 0) {
      const [t] = throttles.splice(throttle, 1);
      return send(res, 429, graphError('TooManyRequests', 'Too many requests'), {
        'retry-after': String(t?.retryAfterSec ?? 1),
      });
    }

    if (isToken) {
      // https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
      if (body.grant_type !== 'client_credentials' || body.scope !== 'https://graph.microsoft.com/.default')
        return send(res, 400, { error: 'invalid_request', error_description: 'AADSTS900144: bad request' });
      if (body.client_id !== fakeClientId || body.client_secret !== fakeClientSecret)
        return send(res, 401, {
          error: 'invalid_client',
          error_description: 'AADSTS7000215: Invalid client secret provided.',
        });
      const token = `fake-graph-token-${randomUUID()}`;
      tokens.add(token);
      return send(res, 200, { token_type: 'Bearer', expires_in: 3599, access_token: token });
    }

    const bearer = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
    if (!tokens.has(bearer))
      return send(res, 401, graphError('InvalidAuthenticationToken', 'Access token is empty or invalid.'));

    const grant = (asked: unknown): string => {
      const askedMs = Date.parse(String(asked));
      const cap = fake.maxLifetimeMs === undefined ? askedMs : Date.now() + fake.maxLifetimeMs;
      return new Date(Math.min(askedMs, cap)).toISOString();
    };
    const parts = path.split('/').filter(Boolean);
    if (parts[0] !== 'subscriptions') return send(res, 404, graphError('NotFound', 'no such path'));
    const id = parts[1] ? decodeURIComponent(parts[1]) : undefined;
    if (id === undefined) {
      if (method === 'GET') return send(res, 200, { value: [...subscriptions.values()] });
      if (method !== 'POST') return send(res, 405, graphError('BadRequest', 'method'));
      if (Number.isNaN(Date.parse(String(body.expirationDateTime))))
        return send(res, 400, graphError('ExtensionError', 'expirationDateTime is required'));
      const sub: FakeSubscription = {
        id: randomUUID(),
        resource: String(body.resource),
        changeType: String(body.changeType),
        notificationUrl: String(body.notificationUrl),
        lifecycleNotificationUrl:
          typeof body.lifecycleNotificationUrl === 'string' ? body.lifecycleNotificationUrl : undefined,
        clientState: typeof body.clientState === 'string' ? body.clientState : undefined,
        expirationDateTime: grant(body.expirationDateTime),
      };
      subscriptions.set(sub.id, sub);
      return send(res, 201, sub);
    }
    const sub = subscriptions.get(id);
    if (!sub || Date.parse(sub.expirationDateTime) < Date.now()) {
      subscriptions.delete(id);
      return send(res, 404, graphError('ResourceNotFound', `The object was not found.`));
    }
    if (parts[2] === 'reauthorize' && method === 'POST') return send(res, 204);
    if (parts.length > 2) return send(res, 404, graphError('NotFound', 'no such path'));
    if (method === 'GET') return send(res, 200, { ...sub, clientState: null });
    if (method === 'DELETE') {
      subscriptions.delete(id);
      return send(res, 204);
    }
    if (method === 'PATCH') {
      sub.expirationDateTime = grant(body.expirationDateTime);
      return send(res, 200, { ...sub, clientState: null });
    }
    return send(res, 405, graphError('BadRequest', 'method'));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const fake: FakeGraph = {
    graphUrl: `${base}/v1.0`,
    tokenUrl: `${base}/fake-tenant/oauth2/v2.0/token`,
    calls,
    subscriptions,
    maxLifetimeMs: undefined,
    allowToken: (token) => void tokens.add(token),
    callsOf: matching,
    throttleNext(method, path, retryAfterSec) {
      throttles.push({ method, path, retryAfterSec });
    },
    async waitFor(method, path, count = 1, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (matching(method, path).length < count) {
        if (Date.now() > deadline)
          throw new Error(`fake Graph: ${count} × ${method} ${path} not seen within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(10, deadline - Date.now()));
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return matching(method, path);
    },
    reset() {
      calls.length = 0;
      subscriptions.clear();
      throttles.length = 0;
      fake.maxLifetimeMs = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}
