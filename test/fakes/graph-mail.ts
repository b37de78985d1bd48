import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FailureQueue, type FakeReply, type RecordedCall, readBody, sendJson } from './http.js';

/**
 * A local stand-in for Microsoft Graph mail delta (`GET {graphUrl}/users/{user}/mailFolders/{folder}/messages/delta`),
 * the folder itself (`GET …/mailFolders/{folder}`, what the probe reads) and the Microsoft identity
 * platform token endpoint (client credentials, and the refresh token grant of a delegated client),
 * on port 0. One mailbox folder, served on any number of endpoints; every request is recorded with
 * its endpoint. Access tokens expire after `tokenLifetimeSec`; a delegated one reads only its
 * signed-in user's mailbox.
 * https://learn.microsoft.com/graph/api/message-delta
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token
 */
export interface FakeGraphMessage {
  readonly id: string;
  changeKey: string;
  readonly conversationId: string;
  readonly receivedDateTime: string;
  readonly subject: string;
  readonly bodyPreview: string;
  readonly from: string;
  isRead: boolean;
}

export type GraphCallKind = 'delta' | 'folder' | 'token' | 'other';

export type GraphCall = RecordedCall<GraphCallKind>;

export type { FakeReply };

const send = (res: ServerResponse, reply: FakeReply) =>
  sendJson(res, reply, 'application/json; odata.metadata=minimal');

interface Change {
  readonly seq: number;
  readonly id: string;
}

interface DeltaState {
  /** initial: the folder as it is; delta: the changes after `since`. */
  readonly mode: 'initial' | 'delta';
  readonly since: number;
  /** The change sequence number the round reads up to; the next delta link continues from it. */
  readonly upTo: number;
  readonly filterFrom: string | undefined;
  readonly offset: number;
  readonly epoch: number;
}

export interface FakeGraph {
  /** `graphUrl` of endpoint 0 (ends in /v1.0). */
  readonly url: string;
  /** `credentials.authorityUrl` of endpoint 0. */
  readonly authorityUrl: string;
  readonly calls: GraphCall[];
  readonly messages: Map<string, FakeGraphMessage>;
  addMessage(fields?: Partial<FakeGraphMessage>): FakeGraphMessage;
  /** The message changes (a new changeKey), e.g. it was read. */
  update(id: string): void;
  remove(id: string): void;
  /** The same change is reported again in the next round (Graph may repeat items). */
  repeat(id: string): void;
  /** How many times delta returned this item. */
  deliveries(id: string): number;
  /** Every delta and skip token handed out so far stops working: 410 syncStateNotFound. */
  expireTokens(): void;
  failNext(kind: GraphCallKind, reply: FakeReply): void;
  /** Links are written with this origin (Graph's own when set), as a proxy in front of Graph would see. */
  linkOrigin: string | undefined;
  pageSize: number;
  client: { tenantId: string; clientId: string; clientSecret: string };
  /**
   * The delegated client (`relay auth microsoft`'s app) and the one refresh token it accepts now.
   * Every use hands out a new one and, unlike Entra (where older ones stay valid until they
   * expire), the one used stops working: a client that keeps redeeming a rotated-away token fails.
   */
  delegated: FakeDelegatedClient;
  /** Refresh tokens the refresh grant handed out, oldest first. */
  readonly refreshTokens: string[];
  /** `expires_in` of the access tokens handed out; they are refused after it. */
  tokenLifetimeSec: number;
  callsOf(kind: GraphCallKind, endpoint?: number): GraphCall[];
  addEndpoint(): Promise<string>;
  close(): Promise<void>;
}

export interface FakeDelegatedClient {
  clientId: string;
  /** A confidential client's secret; undefined for a public client, which must send none. */
  clientSecret: string | undefined;
  /** The signed-in user: delegated tokens read this mailbox only. */
  user: string;
  refreshToken: string;
  /** While set, every refresh is refused with invalid_grant and this AADSTS description (revoked, expired). */
  refuse: string | undefined;
}

export const throttled = (retryAfterSec: number): FakeReply => ({
  status: 429,
  headers: { 'retry-after': String(retryAfterSec) },
  body: {
    error: {
      code: 'ApplicationThrottled',
      message: 'Application is over its MailboxConcurrency limit.',
      innerError: { date: new Date().toISOString(), 'request-id': 'b7e4c1de-1c6f-4d57-9b68-9c0f1f3d2a10' },
    },
  },
});

const syncStateNotFound: FakeReply = {
  status: 410,
  body: {
    error: {
      code: 'SyncStateNotFound',
      message: 'The sync state generation is not found. Please resync.',
      innerError: { date: new Date().toISOString(), 'request-id': '6e6f8a2c-4b1a-4c2f-9f0e-2d3c4b5a6978' },
    },
  },
};

const graphError = (status: number, code: string, message: string): FakeReply => ({
  status,
  body: { error: { code, message } },
});

/** An identity platform error as Entra writes it: the AADSTS line, then trace lines. */
export const oauthRefusal = (status: number, error: string, description: string): FakeReply => ({
  status,
  body: {
    error,
    error_description: `${description}\r\nTrace ID: 0d7a3c9e-6b1f-4a2e-8c5d-3e9f1b2a4c60\r\nCorrelation ID: 5f2b8e41-9c3d-4e7a-b6f0-1a2d3c4e5f67\r\nTimestamp: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    error_codes: [Number(/^AADSTS(\d+)/.exec(description)?.[1] ?? 0)],
  },
});

const newRefreshToken = () => `0.AXEAfake-refresh-${randomBytes(24).toString('base64url')}`;

function resource(m: FakeGraphMessage): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.message',
    '@odata.etag': `W/"${m.changeKey}"`,
    id: m.id,
    changeKey: m.changeKey,
    createdDateTime: m.receivedDateTime,
    lastModifiedDateTime: new Date().toISOString(),
    receivedDateTime: m.receivedDateTime,
    subject: m.subject,
    bodyPreview: m.bodyPreview,
    isRead: m.isRead,
    conversationId: m.conversationId,
    from: { emailAddress: { name: m.from.split('@')[0], address: m.from } },
    toRecipients: [{ emailAddress: { name: 'Sales', address: 'sales@contoso.com' } }],
  };
}

const encode = (s: DeltaState) => Buffer.from(JSON.stringify(s)).toString('base64url');
const decode = (token: string): DeltaState =>
  JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as DeltaState;

export async function startFakeGraph(): Promise<FakeGraph> {
  const calls: GraphCall[] = [];
  const messages = new Map<string, FakeGraphMessage>();
  const removed = new Set<string>();
  const changes: Change[] = [];
  const created = new Map<string, number>();
  const delivered = new Map<string, number>();
  const failures = new FailureQueue<GraphCallKind>();
  /** Access tokens handed out: when each expires, and the mailbox a delegated one may read. */
  const issued = new Map<string, { expiresAt: number; user: string | undefined }>();
  const refreshTokens: string[] = [];
  const servers: Server[] = [];
  let seq = 0;
  let epoch = 0;
  let nextId = 1;

  const change = (id: string) => changes.push({ seq: ++seq, id });

  function delta(base: string, query: URLSearchParams): FakeReply {
    const token = query.get('$deltatoken') ?? query.get('$skiptoken');
    let state: DeltaState;
    if (token) {
      state = decode(token);
      if (state.epoch !== epoch) return syncStateNotFound;
      if (query.has('$deltatoken')) state = { ...state, mode: 'delta', upTo: seq, offset: 0 };
    } else {
      const filter = query.get('$filter');
      const filterFrom = filter ? /^receivedDateTime ge (\S+)$/.exec(filter)?.[1] : undefined;
      if (filter && !filterFrom)
        return graphError(400, 'ErrorInvalidUrlQueryFilter', 'The query filter is invalid.');
      state = { mode: 'initial', since: 0, upTo: seq, filterFrom, offset: 0, epoch };
    }
    const from = state.filterFrom ? Date.parse(state.filterFrom) : undefined;
    const inScope = (id: string) => {
      const m = messages.get(id);
      return from === undefined || (m !== undefined && Date.parse(m.receivedDateTime) >= from);
    };
    const ids =
      state.mode === 'initial'
        ? [...messages.keys()].filter((id) => !removed.has(id) && (created.get(id) ?? 0) <= state.upTo)
        : [...new Set(changes.filter((c) => c.seq > state.since && c.seq <= state.upTo).map((c) => c.id))];
    const all = ids.filter(inScope);
    const page = all.slice(state.offset, state.offset + fake.pageSize);
    const value = page.map((id) => {
      delivered.set(id, (delivered.get(id) ?? 0) + 1);
      const m = messages.get(id);
      return removed.has(id) || !m
        ? { '@odata.type': '#microsoft.graph.message', id, '@removed': { reason: 'deleted' } }
        : resource(m);
    });
    const more = state.offset + fake.pageSize < all.length;
    const link = more
      ? {
          '@odata.nextLink': `${base}?$skiptoken=${encode({ ...state, offset: state.offset + fake.pageSize })}`,
        }
      : {
          '@odata.deltaLink': `${base}?$deltatoken=${encode({ ...state, mode: 'delta', since: state.upTo, offset: 0 })}`,
        };
    return {
      status: 200,
      body: {
        '@odata.context': `${base.replace(/\/users\/.*/, '')}/$metadata#Collection(message)`,
        ...link,
        value,
      },
    };
  }

  function accessToken(user: string | undefined, extra: Record<string, unknown> = {}): FakeReply {
    const accessToken = `eyJ0eXAiOiJKV1Qi.fake-${randomBytes(6).toString('hex')}`;
    issued.set(accessToken, { expiresAt: Date.now() + fake.tokenLifetimeSec * 1000, user });
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        expires_in: fake.tokenLifetimeSec,
        ext_expires_in: fake.tokenLifetimeSec,
        access_token: accessToken,
        ...extra,
      },
    };
  }

  function clientCredentials(form: URLSearchParams): FakeReply {
    const { clientId, clientSecret } = fake.client;
    if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret)
      return oauthRefusal(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
    return accessToken(undefined);
  }

  function refreshGrant(form: URLSearchParams): FakeReply {
    const d = fake.delegated;
    if (form.get('client_id') !== d.clientId)
      return oauthRefusal(
        400,
        'unauthorized_client',
        `AADSTS700016: Application with identifier '${form.get('client_id')}' was not found in the directory.`,
      );
    if (d.clientSecret === undefined && form.has('client_secret'))
      return oauthRefusal(
        401,
        'invalid_client',
        "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
      );
    if (d.clientSecret !== undefined && form.get('client_secret') !== d.clientSecret)
      return oauthRefusal(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
    const presented = form.get('refresh_token');
    if (!presented)
      return oauthRefusal(
        400,
        'invalid_request',
        "AADSTS900144: The request body must contain the following parameter: 'refresh_token'.",
      );
    const scopes = (form.get('scope') ?? '').split(' ');
    if (!scopes.includes('offline_access') || !scopes.some((s) => s.endsWith('/Mail.Read')))
      return oauthRefusal(
        400,
        'invalid_scope',
        "AADSTS70011: The provided request must include a 'scope' input parameter.",
      );
    if (d.refuse) return oauthRefusal(400, 'invalid_grant', d.refuse);
    if (presented !== d.refreshToken)
      return oauthRefusal(
        400,
        'invalid_grant',
        'AADSTS9002313: Invalid request. Request is malformed or invalid. - [refresh_token is not valid]',
      );
    d.refreshToken = newRefreshToken();
    refreshTokens.push(d.refreshToken);
    return accessToken(d.user, {
      scope: 'https://graph.microsoft.com/Mail.Read',
      refresh_token: d.refreshToken,
    });
  }

  function token(path: string, form: URLSearchParams): FakeReply {
    const { tenantId } = fake.client;
    if (path !== `/${tenantId}/oauth2/v2.0/token`)
      return graphError(400, 'invalid_request', `AADSTS90002: Tenant '${path.split('/')[1]}' not found.`);
    switch (form.get('grant_type')) {
      case 'client_credentials':
        return clientCredentials(form);
      case 'refresh_token':
        return refreshGrant(form);
      default:
        return oauthRefusal(
          400,
          'unsupported_grant_type',
          'AADSTS70003: The app requested an unsupported grant type.',
        );
    }
  }

  /** The mailbox a Graph path names, for the delegated token check. */
  const mailboxOf = (path: string) => {
    const segment = /^\/v1\.0\/users\/([^/]+)\//.exec(path)?.[1];
    return segment ? decodeURIComponent(segment).toLowerCase() : undefined;
  };

  async function handle(
    endpoint: number,
    origin: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const kind: GraphCallKind = url.pathname.endsWith('/oauth2/v2.0/token')
      ? 'token'
      : /^\/v1\.0\/users\/[^/]+\/mailFolders\/[^/]+\/messages\/delta$/.test(url.pathname)
        ? 'delta'
        : /^\/v1\.0\/users\/[^/]+\/mailFolders\/[^/]+$/.test(url.pathname)
          ? 'folder'
          : 'other';
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
    if (kind === 'token') return send(res, token(url.pathname, form ?? new URLSearchParams()));
    if (kind === 'other')
      return send(
        res,
        graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.'),
      );
    const grant = issued.get(req.headers.authorization?.replace(/^Bearer /, '') ?? '');
    if (!grant)
      return send(res, graphError(401, 'InvalidAuthenticationToken', 'Access token validation failure.'));
    if (Date.now() >= grant.expiresAt)
      return send(
        res,
        graphError(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.'),
      );
    if (grant.user !== undefined && mailboxOf(url.pathname) !== grant.user.toLowerCase())
      return send(
        res,
        graphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.'),
      );
    if (kind === 'folder') {
      const folder = decodeURIComponent(url.pathname.split('/').at(-1) ?? '');
      const count = [...messages.keys()].filter((id) => !removed.has(id)).length;
      return send(res, {
        status: 200,
        body: {
          id: 'AQMkAGI2folder',
          displayName: folder === 'inbox' ? 'Inbox' : folder,
          totalItemCount: count,
        },
      });
    }
    send(res, delta((fake.linkOrigin ?? origin) + url.pathname, url.searchParams));
  }

  async function addEndpoint(): Promise<string> {
    const endpoint = servers.length;
    let origin = '';
    const server = createServer((req, res) => {
      handle(endpoint, origin, req, res).catch(() => send(res, { status: 500, body: {} }));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return `${origin}/v1.0`;
  }

  const url = await addEndpoint();
  const fake: FakeGraph = {
    url,
    authorityUrl: url.replace(/\/v1\.0$/, ''),
    calls,
    messages,
    linkOrigin: undefined,
    pageSize: 2,
    client: {
      tenantId: '84bd8158-6d4d-4958-8b9f-9d6445542f95',
      clientId: '8e460676-ae3f-4b1e-8790-ee0fb5d6148f',
      clientSecret: 'example-outlook-client-secret',
    },
    delegated: {
      clientId: 'b3a6c1e4-5d4f-4c3b-9e2a-1f0e9d8c7b6a',
      clientSecret: undefined,
      user: 'sales@contoso.com',
      refreshToken: newRefreshToken(),
      refuse: undefined,
    },
    refreshTokens,
    tokenLifetimeSec: 3599,
    addMessage(fields = {}) {
      const n = nextId++;
      const id = fields.id ?? `AAMkAGI2TG93AAA${n.toString().padStart(4, '0')}=`;
      const message: FakeGraphMessage = {
        id,
        changeKey: `CQAAABYAAAD${randomBytes(4).toString('hex')}`,
        conversationId: fields.conversationId ?? `AAQkAGI2conv${n}=`,
        receivedDateTime: fields.receivedDateTime ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        subject: fields.subject ?? `Quote request ${n}`,
        bodyPreview: fields.bodyPreview ?? `Hello, please send a quote (${n})`,
        from: fields.from ?? `buyer${n}@fabrikam.com`,
        isRead: false,
      };
      messages.set(id, message);
      change(id);
      created.set(id, seq);
      return message;
    },
    update(id) {
      const m = messages.get(id);
      if (!m) throw new Error(`no message ${id}`);
      m.isRead = true;
      m.changeKey = `CQAAABYAAAD${randomBytes(4).toString('hex')}`;
      change(id);
    },
    remove(id) {
      removed.add(id);
      change(id);
    },
    repeat(id) {
      change(id);
    },
    deliveries: (id) => delivered.get(id) ?? 0,
    expireTokens() {
      epoch++;
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
