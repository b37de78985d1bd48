import { setMaxListeners } from 'node:events';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { RelayError } from '../errors.js';
import { deliveryHeaders } from '../http/delivery-request.js';
import { retryAfterMs } from '../provider/retry-after.js';
import type { RelayEvent } from '../queue/envelope.js';

/** Longest answer excerpt kept in a failure reason. */
export const excerptChars = 200;
/** Bytes of a refused answer read for its excerpt; the rest is drained unread. */
const excerptBytes = 1024;

/**
 * One destination's HTTP side. node:http with a keep-alive agent per destination, not the global
 * fetch: each destination gets its own socket pool (`maxSockets` = its concurrency), so a slow one
 * cannot hold the sockets the others need, and connection errors keep their codes (ECONNREFUSED,
 * ECONNRESET) for the failure reason. Node's fetch would share one pool unless the undici package
 * (not a dependency) were imported to make per-destination agents.
 */
export class DeliveryTarget {
  readonly #url: URL;
  readonly #agent: HttpAgent;
  readonly #scrub: readonly string[];
  /** Aborts the requests in flight when the relay stops before they are answered. */
  #stopping = new AbortController();

  constructor(
    readonly name: string,
    url: string,
    private readonly secrets: readonly string[],
    private readonly timeoutMs: number,
    concurrency: number,
  ) {
    this.#url = new URL(url);
    const Agent = this.#url.protocol === 'https:' ? HttpsAgent : HttpAgent;
    this.#agent = new Agent({ keepAlive: true, maxSockets: concurrency, scheduling: 'lifo' });
    // Never in a failure reason: the secrets, and the password of a URL with userinfo.
    this.#scrub = [...secrets, decodeURIComponent(this.#url.password)].filter((s) => s.length > 0);
    // Every request in flight listens on it: up to `concurrency`, past node's warning at 10.
    setMaxListeners(0, this.#stopping.signal);
  }

  /** The URL without userinfo, for messages. */
  get displayUrl(): string {
    const u = new URL(this.#url);
    u.username = '';
    u.password = '';
    return u.toString();
  }

  /**
   * The signed request for an event: body and headers, exactly as sent. `body` is the event's JSON
   * as stored in Redis when the caller has it, so integers past 2^53 keep every digit (contract §4).
   */
  signed(
    event: RelayEvent,
    nowMs: number,
    stored?: string,
  ): { body: Buffer; headers: Record<string, string> } {
    const body = Buffer.from(stored ?? JSON.stringify(event));
    return {
      body,
      headers: {
        ...deliveryHeaders({ id: event.id, body, secrets: this.secrets, nowMs }),
        'content-length': String(body.length),
      },
    };
  }

  /** POSTs the event; resolves with the status of a 2xx, throws `DeliveryError` otherwise. */
  deliver(event: RelayEvent, nowMs = Date.now(), stored?: string): Promise<number> {
    const { body, headers } = this.signed(event, nowMs, stored);
    return this.send('POST', headers, body);
  }

  /** Any method; a 2xx resolves, anything else throws `DeliveryError` (`relay doctor` uses OPTIONS). */
  send(method: string, headers: Record<string, string>, body?: Buffer): Promise<number> {
    const request = this.#url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<number>((resolve, reject) => {
      let settled = false;
      const fail = (err: DeliveryError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(err);
      };
      const signal = this.#stopping.signal;
      const req = request(this.#url, { method, headers, agent: this.#agent, signal }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          // The status is the answer; the body is drained so the socket goes back to the pool.
          res.resume();
          settled = true;
          clearTimeout(timer);
          resolve(status);
          return;
        }
        readExcerpt(res).then((text) => {
          fail(
            new DeliveryError(
              `HTTP ${status}${text ? `: ${this.#clean(text)}` : ''}`,
              status,
              retryAfterMs(res.headers),
            ),
          );
        }, fail);
      });
      const timer = setTimeout(
        () => fail(new DeliveryError(`no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      req.on('error', (err: NodeJS.ErrnoException) =>
        fail(
          new DeliveryError(
            signal.aborted ? 'cut short: the relay stopped before an answer' : connectionMessage(err),
            undefined,
            undefined,
            { cause: err },
          ),
        ),
      );
      req.end(body);
    });
  }

  /** One line, no secret, at most `excerptChars`. */
  #clean(text: string): string {
    let out = text.replace(/\s+/g, ' ').trim();
    for (const s of this.#scrub) out = out.split(s).join('[redacted]');
    return out.length > excerptChars ? `${out.slice(0, excerptChars - 1)}…` : out;
  }

  /** Fails the deliveries in flight now (they are retried, by this replica or another). */
  abort(): void {
    this.#stopping.abort();
  }

  close(): void {
    this.#stopping.abort();
    this.#agent.destroy();
  }
}

/** A delivery that did not get a 2xx: retried with backoff, the wait at least `retryAfterMs`. */
export class DeliveryError extends RelayError {
  constructor(
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super('delivery_failed', message, options);
  }
}

function connectionMessage(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused (ECONNREFUSED)';
    case 'ECONNRESET':
      return 'connection reset before an answer (ECONNRESET)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${err.code})`;
    default:
      return err.code ? `connection failed (${err.code})` : `connection failed: ${err.message}`;
  }
}

async function readExcerpt(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    if (size < excerptBytes) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  }
  return Buffer.concat(chunks).subarray(0, excerptBytes).toString('utf8');
}
