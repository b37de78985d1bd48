import type { Request, Response } from 'express';
import { z } from 'zod';
import type { RelayConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import {
  formatPositions,
  parsePositions,
  readAdded,
  startPositions,
  trimmedSince,
} from '../queue/event-log.js';
import { eventMatches } from '../queue/inspect.js';
import { createRedis, waitForReady } from '../redis/connection.js';
import { toFilter } from './admin.js';
import { sendError } from './reply.js';

export interface ListenOptions {
  readonly redis: RelayConfig['redis'];
  readonly queueNames: readonly string[];
  now(): number;
  readonly log?: Logger | undefined;
  /** A comment line this often keeps proxies from closing a quiet stream (default 15 s). */
  readonly heartbeatMs?: number;
  /** A client that takes nothing for this long while its buffer is full is cut (default 30 s). */
  readonly stallMs?: number;
  /** Open streams at once, each with its own Redis connection (default 32); more get 503. */
  readonly maxListeners?: number;
}

const querySchema = z.strictObject({
  channel: z.string().optional(),
  account: z.string().optional(),
  type: z.string().optional(),
  since: z.string().optional(),
});

/** The client's reconnection delay, sent as `retry:`. */
const retryMs = 2000;
/** Ids a stream remembers so an event that `routes:` copied to several queues is sent once. */
const recentIds = 2000;

/**
 * `GET /admin/listen`: Server-Sent Events, one per event as it is enqueued, each with `id:` a
 * position (src/queue/event-log.ts) that `Last-Event-ID` resumes from. Reads nothing but BullMQ's
 * event streams, so workers and the ingest path are untouched.
 *
 * Each stream has its own Redis connection blocked in XREAD: Redis does the fan-out, a listener
 * resumes from any position without coordinating with others, and a slow listener only lags
 * itself. It reads again only once the client has taken what it sent (bounded memory: one read of
 * at most 64 entries, plus the socket buffer); stalled for `stallMs`, it is cut, and resumes.
 */
export class ListenHub {
  readonly #open = new Set<() => void>();
  readonly #heartbeatMs: number;
  readonly #stallMs: number;
  readonly #maxListeners: number;

  constructor(private readonly options: ListenOptions) {
    this.#heartbeatMs = options.heartbeatMs ?? 15_000;
    this.#stallMs = options.stallMs ?? 30_000;
    this.#maxListeners = options.maxListeners ?? 32;
  }

  get listeners(): number {
    return this.#open.size;
  }

  /** Ends every open stream (clients reconnect to another replica, or to this one once it is back). */
  close(): void {
    for (const stop of [...this.#open]) stop();
  }

  readonly handle = async (req: Request, res: Response): Promise<void> => {
    const query = querySchema.safeParse(req.query);
    if (!query.success)
      return sendError(
        res,
        400,
        query.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    let filter: ReturnType<typeof toFilter>;
    try {
      filter = toFilter(query.data, this.options.now());
    } catch (err) {
      return sendError(res, 400, errorMessage(err));
    }
    const lastEventId = req.get('last-event-id');
    const resumed = lastEventId ? parsePositions(lastEventId) : undefined;
    if (lastEventId && !resumed)
      return sendError(
        res,
        400,
        `Last-Event-ID "${lastEventId.slice(0, 80)}" is not a position this relay sent`,
      );
    if (this.#open.size >= this.#maxListeners)
      return sendError(res, 503, `${this.#maxListeners} listeners are open already; try again later`);

    const redis = createRedis(this.options.redis, 'blocking', 'relay-listen');
    redis.on('error', () => {});
    const { prefix } = this.options.redis;
    let positions: Awaited<ReturnType<typeof startPositions>>;
    let gaps: Awaited<ReturnType<typeof trimmedSince>> = [];
    try {
      await waitForReady(redis, 3000);
      positions = await startPositions(redis, prefix, this.options.queueNames, {
        positions: resumed,
        sinceMs: filter.sinceMs,
      });
      if (resumed || filter.sinceMs !== undefined) gaps = await trimmedSince(redis, prefix, positions);
    } catch (err) {
      redis.disconnect();
      return sendError(res, 503, `Redis unavailable: ${errorMessage(err)}`);
    }

    let open = true;
    let heartbeat: NodeJS.Timeout | undefined;
    const stop = () => {
      if (!open) return;
      open = false;
      clearInterval(heartbeat);
      this.#open.delete(stop);
      redis.disconnect();
      res.end();
    };
    this.#open.add(stop);
    res.on('close', stop);

    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx: do not buffer this response, whatever proxy_buffering says.
      'x-accel-buffering': 'no',
    });
    // The start position first: a client cut before any event still resumes from here, not from "now".
    let sentPosition = formatPositions(positions);
    res.write(
      `retry: ${retryMs}\nid: ${sentPosition}\n\n${gaps.map((g) => `event: gap\ndata: ${JSON.stringify(g)}\n\n`).join('')}`,
    );
    heartbeat = setInterval(() => {
      if (!res.writableNeedDrain) res.write(': keep-alive\n\n');
    }, this.#heartbeatMs);

    const drained = () =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => done(false), this.#stallMs);
        const done = (ok: boolean) => {
          clearTimeout(timer);
          res.off('drain', onDrain);
          res.off('close', onClose);
          resolve(ok);
        };
        const onDrain = () => done(true);
        const onClose = () => done(false);
        res.on('drain', onDrain);
        res.on('close', onClose);
      });

    const seen = new Set<string>();
    try {
      while (open) {
        const { events, moved } = await readAdded(redis, prefix, positions, this.#heartbeatMs);
        for (const { event, json, position } of events) {
          if (seen.has(event.id) || !eventMatches(event, filter)) continue;
          seen.add(event.id);
          if (seen.size > recentIds) seen.delete(seen.values().next().value as string);
          const data = json.includes('\n') ? json.split('\n').join('\ndata: ') : json;
          res.write(`id: ${position}\ndata: ${data}\n\n`);
          sentPosition = position;
          if (res.writableNeedDrain && !(await drained())) {
            if (open)
              this.options.log?.info({ stallMs: this.#stallMs }, 'listen: cut a client that stopped reading');
            return stop();
          }
        }
        // Entries skipped (other job events, filtered out) still move the position: an `id:` alone
        // updates the client's Last-Event-ID without an event, so a resume does not read them again.
        const now = formatPositions(positions);
        if (moved && open && now !== sentPosition) {
          res.write(`id: ${now}\n\n`);
          sentPosition = now;
        }
      }
    } catch (err) {
      if (open) this.options.log?.warn({ err: errorMessage(err) }, 'listen: stream ended on a Redis error');
    }
    stop();
  };
}
