import { type KeyObject, randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { FailureQueue, type FakeReply, readBody, sendJson } from './http.js';

/**
 * A local stand-in for Cloud Pub/Sub's REST API (`POST {apiRoot}/v1/{subscription}:pull` and
 * `:acknowledge`) and for Google's OAuth token endpoint (the service account JWT-bearer grant),
 * on port 0. One subscription, messages in publish order. As Pub/Sub does: a pulled message is
 * leased for the ack deadline and redelivered once it expires unacknowledged; an empty pull is held
 * open (up to `holdMs`) and answered as soon as a message can be delivered.
 */
export type { FakeReply };

export interface PullCall {
  readonly at: number;
  readonly token: string;
  readonly maxMessages: unknown;
}

export interface AckRecord {
  readonly at: number;
  readonly ackId: string;
  readonly messageId: string;
}

interface Stored {
  readonly messageId: string;
  readonly data: string;
  readonly publishTime: string;
  acked: boolean;
  leasedUntil: number;
  ackId: string | undefined;
  deliveries: number;
}

export interface FakePubSub {
  readonly url: string;
  /** Use as the service account key's `token_uri`. */
  readonly tokenUrl: string;
  readonly subscription: string;
  readonly pulls: PullCall[];
  readonly acks: AckRecord[];
  /** messageIds in delivery order (a redelivery appears again). */
  readonly delivered: string[];
  /** Access tokens the token endpoint issued, in order. */
  readonly issued: string[];
  /** The most pulls ever open at once. */
  readonly maxConcurrentPulls: number;
  /** Publishes a Chat event (JSON) or raw bytes; returns the messageId. */
  publish(data: object | Buffer): string;
  isAcked(messageId: string): boolean;
  /** The next call of `what` gets this answer. */
  failNext(what: 'pull' | 'acknowledge' | 'token', reply: FakeReply): void;
  waitFor(check: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface FakePubSubOptions {
  readonly subscription: string;
  /** Static tokens the API accepts besides the ones its token endpoint issues. */
  readonly acceptTokens?: readonly string[];
  /** The service account whose JWT-bearer assertions the token endpoint accepts. */
  readonly serviceAccount?: { readonly email: string; readonly publicKey: KeyObject };
  readonly ackDeadlineMs?: number;
  readonly holdMs?: number;
}

export const googleError = (status: number, code: string, message: string): FakeReply => ({
  status,
  body: { error: { code: status, message, status: code } },
});

export async function startFakePubSub(options: FakePubSubOptions): Promise<FakePubSub> {
  const ackDeadlineMs = options.ackDeadlineMs ?? 1000;
  const holdMs = options.holdMs ?? 1000;
  const messages: Stored[] = [];
  const pulls: PullCall[] = [];
  const acks: AckRecord[] = [];
  const delivered: string[] = [];
  const issued: string[] = [];
  const accepted = new Set(options.acceptTokens ?? []);
  const failures = new FailureQueue();
  let wake: Array<() => void> = [];
  let open = 0;
  let maxOpen = 0;
  let next = 1;

  const failure = (what: string) => failures.take(what);
  const available = (now: number) => messages.filter((m) => !m.acked && m.leasedUntil <= now);

  async function pull(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const max = typeof body.maxMessages === 'number' && body.maxMessages > 0 ? body.maxMessages : 1;
    const deadline = Date.now() + holdMs;
    let gone = false;
    res.on('close', () => {
      gone = true;
      for (const w of wake.splice(0)) w();
    });
    open++;
    maxOpen = Math.max(maxOpen, open);
    try {
      while (!gone) {
        const now = Date.now();
        const batch = available(now).slice(0, max);
        if (batch.length > 0 || now >= deadline) {
          const receivedMessages = batch.map((m) => {
            m.deliveries++;
            m.leasedUntil = now + ackDeadlineMs;
            m.ackId = `ack-${m.messageId}-${m.deliveries}`;
            delivered.push(m.messageId);
            const message = { data: m.data, messageId: m.messageId, publishTime: m.publishTime };
            return { ackId: m.ackId, message };
          });
          sendJson(res, { status: 200, body: batch.length > 0 ? { receivedMessages } : {} });
          return;
        }
        const leases = messages.filter((m) => !m.acked).map((m) => m.leasedUntil);
        const until = Math.min(deadline, ...leases.filter((t) => t > now));
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1, until - now));
          wake.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    } finally {
      open--;
    }
  }

  function acknowledge(body: Record<string, unknown>): FakeReply {
    const ids = Array.isArray(body.ackIds) ? body.ackIds.map(String) : [];
    for (const ackId of ids) {
      const m = messages.find((x) => x.ackId === ackId);
      if (!m) continue;
      acks.push({ at: Date.now(), ackId, messageId: m.messageId });
      // An ack id of an expired lease may be refused by Pub/Sub; this one is honoured while current.
      m.acked = true;
    }
    return { status: 200, body: {} };
  }

  async function token(form: URLSearchParams): Promise<FakeReply> {
    const denied = (description: string): FakeReply => ({
      status: 400,
      body: { error: 'invalid_grant', error_description: description },
    });
    const sa = options.serviceAccount;
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || !sa)
      return denied('unsupported grant');
    try {
      const { payload } = await jwtVerify(form.get('assertion') ?? '', sa.publicKey, {
        issuer: sa.email,
        algorithms: ['RS256'],
      });
      if (
        !String(payload.scope ?? '')
          .split(' ')
          .includes('https://www.googleapis.com/auth/pubsub')
      )
        return denied('scope missing');
    } catch {
      return denied('Invalid JWT Signature.');
    }
    const accessToken = `ya29.fake-${randomBytes(6).toString('hex')}`;
    issued.push(accessToken);
    accepted.add(accessToken);
    return { status: 200, body: { access_token: accessToken, expires_in: 3599, token_type: 'Bearer' } };
  }

  const base = `/v1/${options.subscription}`;
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const text = await readBody(req);
    if (req.method === 'POST' && path === '/token') {
      return sendJson(res, failure('token') ?? (await token(new URLSearchParams(text))));
    }
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const what =
      path === `${base}:pull` ? 'pull' : path === `${base}:acknowledge` ? 'acknowledge' : undefined;
    if (req.method !== 'POST' || what === undefined)
      return sendJson(res, googleError(404, 'NOT_FOUND', `Resource not found (resource=${path}).`));
    if (!accepted.has(auth))
      return sendJson(
        res,
        googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.'),
      );
    let body: Record<string, unknown>;
    try {
      body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      return sendJson(res, googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'));
    }
    if (what === 'pull') pulls.push({ at: Date.now(), token: auth, maxMessages: body.maxMessages });
    const failed = failure(what);
    if (failed) return sendJson(res, failed);
    if (what === 'pull') return pull(body, res);
    sendJson(res, acknowledge(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    tokenUrl: `${url}/token`,
    subscription: options.subscription,
    pulls,
    acks,
    delivered,
    issued,
    get maxConcurrentPulls() {
      return maxOpen;
    },
    publish(data) {
      const messageId = String(next++);
      const bytes = Buffer.isBuffer(data) ? data : Buffer.from(JSON.stringify(data));
      messages.push({
        messageId,
        data: bytes.toString('base64'),
        publishTime: new Date().toISOString(),
        acked: false,
        leasedUntil: 0,
        ackId: undefined,
        deliveries: 0,
      });
      for (const w of wake.splice(0)) w();
      return messageId;
    },
    isAcked: (messageId) => messages.some((m) => m.messageId === messageId && m.acked),
    failNext(what, reply) {
      failures.add(what, reply);
    },
    async waitFor(check, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`fake Pub/Sub: condition not met within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        wake = [];
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
