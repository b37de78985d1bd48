import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FailureQueue, type FakeReply, type RecordedCall, readBody, sendJson } from './http.js';

/**
 * A local stand-in for the Gmail REST API (`{apiRoot}/gmail/v1/users/{user}/…`) and Google's OAuth
 * token endpoint, on port 0. One mailbox, served on any number of endpoints (ports) so two relays
 * can be told apart; every request is recorded with the endpoint it came through.
 * https://developers.google.com/workspace/gmail/api/reference/rest
 */
export interface FakeGmailMessage {
  readonly id: string;
  readonly threadId: string;
  readonly internalDate: number;
  readonly from: string;
  readonly subject: string;
  readonly snippet: string;
  readonly labelIds: readonly string[];
}

export type GmailCallKind = 'profile' | 'history' | 'get' | 'list' | 'token' | 'other';

export type GmailCall = RecordedCall<GmailCallKind>;

export type { FakeReply };

const send = (res: ServerResponse, reply: FakeReply) =>
  sendJson(res, reply, 'application/json; charset=UTF-8');

interface HistoryRecord {
  readonly id: number;
  readonly message: FakeGmailMessage;
}

export interface FakeGmail {
  /** `apiRoot` of endpoint 0. */
  readonly url: string;
  /** `credentials.tokenUrl` (endpoint 0). */
  readonly tokenUrl: string;
  readonly calls: GmailCall[];
  readonly messages: Map<string, FakeGmailMessage>;
  historyId(): number;
  /** A new message: a history record `messageAdded`, the mailbox history id moves on. */
  addMessage(fields?: Partial<FakeGmailMessage>): FakeGmailMessage;
  /** The same message appears again in a new history record (Gmail can repeat ids across records). */
  redeliver(id: string): void;
  /** Every history id up to now becomes too old: history.list answers 404 for them. */
  expireHistory(): void;
  /** The next call of `kind` gets this answer instead of the normal one. */
  failNext(kind: GmailCallKind, reply: FakeReply): void;
  /** The refresh token the token endpoint accepts, and the one it hands back (rotation). */
  oauth: { clientId: string; refreshToken: string; rotateTo: string | undefined };
  /** Static access tokens the API accepts besides those it issued. */
  readonly acceptedTokens: Set<string>;
  /** The JWT-bearer assertions (service accounts) the token endpoint received, decoded. */
  readonly assertions: Record<string, unknown>[];
  /** History pages hold this many records. */
  pageSize: number;
  callsOf(kind: GmailCallKind, endpoint?: number): GmailCall[];
  addEndpoint(): Promise<string>;
  close(): Promise<void>;
}

const gmailError = (code: number, status: string, reason: string, message: string): FakeReply => ({
  status: code,
  body: { error: { code, message, errors: [{ message, domain: 'global', reason }], status } },
});

export const notFound = gmailError(404, 'NOT_FOUND', 'notFound', 'Requested entity was not found.');
export const rateLimited = (retryAfterSec: number): FakeReply => ({
  ...gmailError(429, 'RESOURCE_EXHAUSTED', 'rateLimitExceeded', 'Too many concurrent requests for user.'),
  headers: { 'retry-after': String(retryAfterSec) },
});
const unauthenticated = gmailError(
  401,
  'UNAUTHENTICATED',
  'authError',
  'Request had invalid authentication credentials. Expected OAuth 2 access token.',
);

function resource(m: FakeGmailMessage, historyId: number, format: string): Record<string, unknown> {
  const headers = [
    { name: 'From', value: m.from },
    { name: 'To', value: 'support@example.com' },
    { name: 'Subject', value: m.subject },
    { name: 'Date', value: new Date(m.internalDate).toUTCString() },
  ];
  const body =
    format === 'full'
      ? { size: m.snippet.length, data: Buffer.from(`${m.snippet}\r\n`).toString('base64url') }
      : undefined;
  return {
    id: m.id,
    threadId: m.threadId,
    labelIds: m.labelIds,
    snippet: m.snippet,
    historyId: String(historyId),
    internalDate: String(m.internalDate),
    sizeEstimate: 1024,
    payload: { partId: '', mimeType: 'text/plain', filename: '', headers, ...(body ? { body } : {}) },
  };
}

export async function startFakeGmail(): Promise<FakeGmail> {
  const calls: GmailCall[] = [];
  const messages = new Map<string, FakeGmailMessage>();
  const history: HistoryRecord[] = [];
  const failures = new FailureQueue<GmailCallKind>();
  const issued = new Set<string>();
  const acceptedTokens = new Set<string>();
  const assertions: Record<string, unknown>[] = [];
  const servers: Server[] = [];
  let currentHistoryId = 1000;
  let expiredBefore = 0;
  let nextMessage = 1;

  function route(path: string): GmailCallKind {
    if (path === '/token') return 'token';
    if (/^\/gmail\/v1\/users\/[^/]+\/profile$/.test(path)) return 'profile';
    if (/^\/gmail\/v1\/users\/[^/]+\/history$/.test(path)) return 'history';
    if (/^\/gmail\/v1\/users\/[^/]+\/messages$/.test(path)) return 'list';
    if (/^\/gmail\/v1\/users\/[^/]+\/messages\/[^/]+$/.test(path)) return 'get';
    return 'other';
  }

  function token(form: URLSearchParams): FakeReply {
    const grant = form.get('grant_type');
    if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const payload = form.get('assertion')?.split('.')[1];
      if (!payload) return { status: 400, body: { error: 'invalid_request' } };
      assertions.push(
        JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>,
      );
    } else if (
      grant !== 'refresh_token' ||
      form.get('client_id') !== fake.oauth.clientId ||
      form.get('refresh_token') !== fake.oauth.refreshToken
    ) {
      return {
        status: 400,
        body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
      };
    }
    const accessToken = `ya29.fake-${randomBytes(6).toString('hex')}`;
    issued.add(accessToken);
    const rotated = grant === 'refresh_token' ? fake.oauth.rotateTo : undefined;
    if (rotated) fake.oauth.refreshToken = rotated;
    return {
      status: 200,
      body: {
        access_token: accessToken,
        expires_in: 3599,
        scope: 'https://www.googleapis.com/auth/gmail.readonly',
        token_type: 'Bearer',
        ...(rotated ? { refresh_token: rotated } : {}),
      },
    };
  }

  function api(kind: GmailCallKind, path: string, query: URLSearchParams): FakeReply {
    switch (kind) {
      case 'profile':
        return {
          status: 200,
          body: {
            emailAddress: 'support@example.com',
            messagesTotal: messages.size,
            threadsTotal: messages.size,
            historyId: String(currentHistoryId),
          },
        };
      case 'history': {
        const start = Number(query.get('startHistoryId'));
        if (!Number.isFinite(start) || start < expiredBefore) return notFound;
        const offset = Number(query.get('pageToken') ?? '0');
        const records = history.filter((r) => r.id > start);
        const page = records.slice(offset, offset + fake.pageSize);
        const more = offset + fake.pageSize < records.length;
        return {
          status: 200,
          body: {
            ...(page.length > 0
              ? {
                  history: page.map((r) => ({
                    id: String(r.id),
                    messages: [{ id: r.message.id, threadId: r.message.threadId }],
                    messagesAdded: [
                      {
                        message: {
                          id: r.message.id,
                          threadId: r.message.threadId,
                          labelIds: r.message.labelIds,
                        },
                      },
                    ],
                  })),
                }
              : {}),
            ...(more ? { nextPageToken: String(offset + fake.pageSize) } : {}),
            historyId: String(currentHistoryId),
          },
        };
      }
      case 'get': {
        const m = messages.get(path.split('/').pop() ?? '');
        return m
          ? { status: 200, body: resource(m, currentHistoryId, query.get('format') ?? 'full') }
          : notFound;
      }
      case 'list': {
        const after = /after:(\d+)/.exec(query.get('q') ?? '');
        const since = after ? Number(after[1]) * 1000 : 0;
        const found = [...messages.values()]
          .filter((m) => m.internalDate >= since)
          .sort((a, b) => b.internalDate - a.internalDate);
        const offset = Number(query.get('pageToken') ?? '0');
        const page = found.slice(offset, offset + fake.pageSize);
        return {
          status: 200,
          body: {
            ...(page.length > 0 ? { messages: page.map((m) => ({ id: m.id, threadId: m.threadId })) } : {}),
            ...(offset + fake.pageSize < found.length
              ? { nextPageToken: String(offset + fake.pageSize) }
              : {}),
            resultSizeEstimate: found.length,
          },
        };
      }
      default:
        return notFound;
    }
  }

  async function handle(endpoint: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const kind = route(url.pathname);
    const text = await readBody(req);
    const form = req.method === 'POST' ? new URLSearchParams(text) : undefined;
    calls.push({
      kind,
      endpoint,
      path: url.pathname,
      query: url.searchParams,
      form,
      authorization: req.headers.authorization,
      at: Date.now(),
    });
    const failure = failures.take(kind);
    if (failure) return send(res, failure);
    if (kind === 'token') return send(res, token(form ?? new URLSearchParams()));
    const bearer = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
    if (!issued.has(bearer) && !acceptedTokens.has(bearer)) return send(res, unauthenticated);
    send(res, api(kind, url.pathname, url.searchParams));
  }

  async function addEndpoint(): Promise<string> {
    const endpoint = servers.length;
    const server = createServer((req, res) => {
      handle(endpoint, req, res).catch(() => send(res, { status: 500, body: {} }));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const url = await addEndpoint();
  const fake: FakeGmail = {
    url,
    tokenUrl: `${url}/token`,
    calls,
    messages,
    acceptedTokens,
    assertions,
    pageSize: 2,
    oauth: {
      clientId: 'fake-client.apps.googleusercontent.com',
      refreshToken: '1//fake-refresh',
      rotateTo: undefined,
    },
    historyId: () => currentHistoryId,
    addMessage(fields = {}) {
      const n = nextMessage++;
      const id = fields.id ?? `18c${(0x1000 + n).toString(16)}a1b2c3d4`;
      const message: FakeGmailMessage = {
        id,
        threadId: fields.threadId ?? id,
        internalDate: fields.internalDate ?? Date.now(),
        from: fields.from ?? `Customer ${n} <customer${n}@example.org>`,
        subject: fields.subject ?? `Question ${n}`,
        snippet: fields.snippet ?? `Hello, this is message ${n}`,
        labelIds: fields.labelIds ?? ['INBOX', 'UNREAD'],
      };
      messages.set(id, message);
      currentHistoryId += 7;
      history.push({ id: currentHistoryId, message });
      return message;
    },
    redeliver(id) {
      const message = messages.get(id);
      if (!message) throw new Error(`no message ${id}`);
      currentHistoryId += 3;
      history.push({ id: currentHistoryId, message });
    },
    expireHistory() {
      expiredBefore = currentHistoryId + 1;
    },
    failNext: (kind, reply) => failures.add(kind, reply),
    callsOf: (kind, endpoint) =>
      calls.filter((c) => c.kind === kind && (endpoint === undefined || c.endpoint === endpoint)),
    addEndpoint,
    async close() {
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    },
  };
  return fake;
}
