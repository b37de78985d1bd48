import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Microsoft Graph mail delta (`GET {graphUrl}/users/{user}/mailFolders/{folder}/messages/delta`)
 * and the Microsoft identity platform token endpoint (client credentials), on port 0. One mailbox
 * folder, served on any number of endpoints; every request is recorded with its endpoint.
 * https://learn.microsoft.com/graph/api/message-delta
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

export type GraphCallKind = 'delta' | 'token' | 'other';

export interface GraphCall {
  readonly kind: GraphCallKind;
  readonly endpoint: number;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly form: URLSearchParams | undefined;
  readonly authorization: string | undefined;
  readonly at: number;
}

export interface FakeReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

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
  callsOf(kind: GraphCallKind, endpoint?: number): GraphCall[];
  addEndpoint(): Promise<string>;
  close(): Promise<void>;
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

function send(res: ServerResponse, reply: FakeReply): void {
  res.writeHead(reply.status, {
    'content-type': 'application/json; odata.metadata=minimal',
    ...reply.headers,
  });
  res.end(JSON.stringify(reply.body));
}

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

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
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
  const failures = new Map<GraphCallKind, FakeReply[]>();
  const issued = new Set<string>();
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

  function token(path: string, form: URLSearchParams): FakeReply {
    const { tenantId, clientId, clientSecret } = fake.client;
    if (path !== `/${tenantId}/oauth2/v2.0/token`)
      return graphError(400, 'invalid_request', `AADSTS90002: Tenant '${path.split('/')[1]}' not found.`);
    if (
      form.get('grant_type') !== 'client_credentials' ||
      form.get('client_id') !== clientId ||
      form.get('client_secret') !== clientSecret
    ) {
      return {
        status: 401,
        body: {
          error: 'invalid_client',
          error_description: 'AADSTS7000215: Invalid client secret provided.',
          error_codes: [7000215],
        },
      };
    }
    const accessToken = `eyJ0eXAiOiJKV1Qi.fake-${randomBytes(6).toString('hex')}`;
    issued.add(accessToken);
    return {
      status: 200,
      body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: accessToken },
    };
  }

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
    const failure = failures.get(kind)?.shift();
    if (failure) return send(res, failure);
    if (kind === 'token') return send(res, token(url.pathname, form ?? new URLSearchParams()));
    if (kind === 'other')
      return send(
        res,
        graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.'),
      );
    if (!issued.has(req.headers.authorization?.replace(/^Bearer /, '') ?? ''))
      return send(res, graphError(401, 'InvalidAuthenticationToken', 'Access token validation failure.'));
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
    failNext(kind, reply) {
      const list = failures.get(kind) ?? [];
      list.push(reply);
      failures.set(kind, list);
    },
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
