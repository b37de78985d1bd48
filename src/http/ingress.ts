import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import type { AnyChannel, InboundRequest, InboundRoute, Reply, RouteContext } from '../channel.js';
import { RejectedError, type RejectReason, UnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { toEnvelope } from '../queue/envelope.js';
import type { EventSink } from '../queue/journal.js';
import type { RejectionLog } from '../rejections.js';
import type { InFlight } from './in-flight.js';
import type { Turns } from './turns.js';

/**
 * Finds an account by channel and id: the config first, then (generic channel) the run-time
 * triggers, which answer synchronously unless their copy must be reloaded from Redis.
 */
export type AccountLookup = (channel: AnyChannel, id: string) => unknown | Promise<unknown>;

export interface IngressDeps {
  /** The producer (jobs before the 2xx), or the ingest journal (queue.journal.enabled). */
  readonly producer: EventSink;
  readonly rejections: RejectionLog;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** The per-request line's logger (`requestLogger(log)`); default `log`. */
  readonly requestLog?: Logger;
  readonly accounts: AccountLookup;
  readonly bodyLimit: number;
  /** `publicUrl` from the config, handed to routes (`RouteContext.publicUrl`). */
  readonly publicUrl?: string | undefined;
  now(): number;
  /** Appends to a loop's inbox (`RouteContext.notifyLoop`); absent: routes cannot reach loops. */
  notifyLoop?(channel: string, account: string, loop: string, message: string): Promise<void>;
  /** The bound on requests being verified and queued (`server.maxInFlight`); absent: none. */
  readonly inFlight?: InFlight;
  /** The bound on requests started per loop turn (turns.ts); absent: all start at once. */
  readonly turns?: Turns;
}

export interface BoundRoute {
  readonly channel: AnyChannel;
  readonly route: InboundRoute<unknown, unknown>;
}

/** What the transport knows about a request before its body is read. */
export interface IncomingRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly ip: string;
  readonly stream: IncomingMessage;
  /**
   * Asked about a refused request before it is recorded: the transport's own answer (429 for a
   * client past its failed-authentication limit, counted and recorded by the transport), or
   * undefined to answer as usual. Never asked about a request that verified.
   */
  readonly refused?: (err: RejectedError) => Promise<IngressReply | undefined>;
}

export interface IngressReply extends Reply {
  readonly headers?: Readonly<Record<string, string>>;
}

const errorReply = (status: number, message: string, headers?: Record<string, string>): IngressReply => ({
  status,
  body: { error: message },
  ...(headers ? { headers } : {}),
});

function mediaTypeOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const type = contentType.split(';', 1)[0]?.trim().toLowerCase();
  return type === '' ? undefined : type;
}

async function readBody(stream: IncomingMessage, limit: number): Promise<Buffer> {
  try {
    return await getRawBody(stream, { limit, length: stream.headers['content-length'] ?? null });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') throw new RejectedError('body_too_large', { limit }, { cause: err });
    throw new RejectedError('bad_body', { why: type ?? 'unreadable body' }, { cause: err });
  }
}

/** More requests in flight than `server.maxInFlight`, or one that waited too long for its turn: 503 at once. */
class OverCapacity extends Error {}

/**
 * The request path from socket to job, the same for every channel: account, encoding, body (read
 * once, as bytes, within the limit), handshake, content type, signature, parse, enqueue, answer.
 * Nothing is parsed before the signature passes, and nothing is answered 2xx before Redis has it.
 */
export async function handleInbound(
  deps: IngressDeps,
  bound: BoundRoute,
  params: Readonly<Record<string, string>>,
  incoming: IncomingRequest,
): Promise<IngressReply> {
  const { channel, route } = bound;
  const started = performance.now();
  const receivedAt = deps.now();
  const accountId = route.accountId ? route.accountId(params) : (params.account ?? '');
  let body: Buffer | undefined;
  let outcome = 'accepted';
  let ids: readonly string[] = [];
  let reply: IngressReply;
  let admitted = false;
  const headers = incoming.stream.headers;

  const reject = (reason: RejectReason, detail?: Record<string, string | number>) => {
    deps.metrics.requests.inc({ channel: channel.name, outcome: reason });
    deps.rejections.record({
      reason,
      channel: channel.name,
      account: accountId,
      method: incoming.method,
      path: incoming.path,
      headerNames: Object.keys(headers),
      body,
      ip: incoming.ip,
      at: receivedAt,
      detail,
    });
  };
  const notify = deps.notifyLoop;
  const ctx: RouteContext = {
    now: deps.now,
    publicUrl: deps.publicUrl,
    log: deps.log,
    reject,
    ...(notify
      ? { notifyLoop: (loop: string, message: string) => notify(channel.name, accountId, loop, message) }
      : {}),
  };

  try {
    if (deps.turns && !(await deps.turns.next())) throw new OverCapacity();
    const account = await deps.accounts(channel, accountId);
    if (account === undefined) throw new RejectedError('unknown_account');
    const encoding = headers['content-encoding']?.trim().toLowerCase();
    if (encoding && encoding !== 'identity') throw new RejectedError('unsupported_media', { encoding });
    body = await readBody(incoming.stream, deps.bodyLimit);
    if (deps.inFlight) {
      if (!deps.inFlight.enter()) throw new OverCapacity();
      admitted = true;
    }
    const req: InboundRequest = {
      method: incoming.method,
      path: incoming.path,
      query: incoming.query,
      ...(incoming.stream.url ? { target: incoming.stream.url } : {}),
      headers,
      body,
      mediaType: mediaTypeOf(headers['content-type']),
      ip: incoming.ip,
      receivedAt,
    };
    const handshake = route.handshake?.(req, account, ctx);
    if (handshake) {
      outcome = 'handshake';
      reply = handshake;
    } else {
      if (!route.accepts(req.mediaType, req))
        throw new RejectedError('unsupported_media', { type: req.mediaType ?? 'none' });
      const proof = await route.verify(req, account, ctx);
      const received = await route.receive(req, account, ctx, proof);
      const raw = received.raw;
      const events = received.events.map((e) =>
        toEnvelope(channel, accountId, raw === undefined || e.raw ? e : { ...e, raw }, receivedAt),
      );
      ids = await deps.producer.emit(events, channel.queueOf(account));
      reply = received.reply?.(ids) ?? { status: 200 };
    }
    deps.metrics.requests.inc({ channel: channel.name, outcome });
  } catch (err) {
    const limited = err instanceof RejectedError ? await incoming.refused?.(err) : undefined;
    if (limited) {
      outcome = 'rate_limited';
      reply = limited;
    } else if (err instanceof RejectedError) {
      outcome = err.reason;
      reject(err.reason, err.detail ? { ...err.detail } : undefined);
      // A route that refuses a method per account (webhook GET, Dropbox only) says which it allows.
      const allow = err.reason === 'method_not_allowed' ? err.detail?.allow : undefined;
      reply = errorReply(err.status, err.message, typeof allow === 'string' ? { allow } : undefined);
    } else if (err instanceof OverCapacity) {
      outcome = 'over_capacity';
      deps.metrics.requests.inc({ channel: channel.name, outcome });
      reply = errorReply(503, 'temporarily unavailable, retry later', { 'retry-after': '1' });
    } else if (err instanceof UnavailableError) {
      outcome = 'unavailable';
      deps.metrics.requests.inc({ channel: channel.name, outcome });
      deps.log.warn(
        { channel: channel.name, account: accountId, err: err.message },
        'answering 503: events not queued',
      );
      reply = errorReply(503, 'temporarily unavailable, retry later', {
        'retry-after': String(err.retryAfterSec),
      });
    } else {
      outcome = 'error';
      deps.metrics.requests.inc({ channel: channel.name, outcome });
      deps.log.error(
        { channel: channel.name, account: accountId, err },
        'bug: unexpected error while handling a request',
      );
      reply = errorReply(500, 'internal error');
    }
  } finally {
    if (admitted) deps.inFlight?.leave();
  }
  (deps.requestLog ?? deps.log).info(
    {
      channel: channel.name,
      account: accountId,
      method: incoming.method,
      status: reply.status,
      outcome,
      ...(ids.length > 0 ? { ids } : {}),
      ms: Math.round((performance.now() - started) * 10) / 10,
      ip: incoming.ip,
    },
    'request',
  );
  return reply;
}
