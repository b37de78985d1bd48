import { setTimeout as sleep } from 'node:timers/promises';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { RelayConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import {
  compareIds,
  formatPositions,
  type Positions,
  parsePositions,
  readEntries,
  type StreamEntry,
  startPositions,
  trimmedSince,
} from '../queue/event-log.js';
import { type EventFilter, eventMatches } from '../queue/inspect.js';
import { type FeedSubscriber, LiveFeed } from '../queue/live-feed.js';
import { createRedis, type RedisClient } from '../redis/connection.js';
import { toFilter } from './admin-events.js';
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
  /** Open streams at once (default 100); more get 503. */
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
/** Bytes a live listener may have waiting in its socket before it leaves the shared feed. */
const liveBufferBytes = 256 * 1024;

/**
 * `GET /admin/listen`: Server-Sent Events, one per event as it is enqueued, each with `id:` a
 * position (src/queue/event-log.ts) that `Last-Event-ID` resumes from. Reads nothing but BullMQ's
 * event streams, so workers and the ingest path are untouched.
 *
 * Two Redis connections per relay process, whatever the number of listeners: one blocking reader
 * shared by every listener that has caught up (src/queue/live-feed.ts), and one connection for the
 * non-blocking reads of listeners that are behind. A listener whose client does not keep up leaves
 * the shared feed and reads at its client's pace (memory: one read of at most 64 entries plus the
 * socket buffer); stalled for `stallMs`, it is cut, and its client resumes where it was.
 */
export class ListenHub {
  readonly #open = new Set<StreamListener>();
  #redis: { control: RedisClient; blocking: RedisClient; feed: LiveFeed } | undefined;
  #closed = false;

  constructor(private readonly options: ListenOptions) {}

  get listeners(): number {
    return this.#open.size;
  }

  /** Listeners reading from the shared feed (caught up), as opposed to reading by themselves. */
  get live(): number {
    return this.#redis?.feed.size ?? 0;
  }

  /** Ends every open stream (clients reconnect to another replica, or to this one once it is back). */
  close(): void {
    this.#closed = true;
    for (const listener of [...this.#open]) listener.stop();
    if (this.#redis) {
      this.#redis.feed.close();
      this.#redis.control.disconnect();
      this.#redis.blocking.disconnect();
      this.#redis = undefined;
    }
  }

  #connections() {
    if (!this.#redis) {
      const control = createRedis(this.options.redis, 'control', 'relay-listen');
      const blocking = createRedis(this.options.redis, 'blocking', 'relay-listen-feed');
      for (const c of [control, blocking]) c.on('error', () => {});
      const feed = new LiveFeed(blocking, this.options.redis.prefix, 5000, this.options.log);
      this.#redis = { control, blocking, feed };
    }
    return this.#redis;
  }

  readonly handle = async (req: Request, res: Response): Promise<void> => {
    const query = querySchema.safeParse(req.query);
    if (!query.success)
      return sendError(
        res,
        400,
        query.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    let filter: EventFilter;
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
    if (this.#closed) return sendError(res, 503, 'the relay is shutting down; reconnect shortly');
    const max = this.options.maxListeners ?? 100;
    if (this.#open.size >= max)
      return sendError(res, 503, `${max} listeners are open already; try again later`);

    const { control, feed } = this.#connections();
    const { prefix } = this.options.redis;
    let positions: Positions;
    let gaps: Awaited<ReturnType<typeof trimmedSince>> = [];
    try {
      positions = await startPositions(control, prefix, this.options.queueNames, {
        positions: resumed,
        sinceMs: filter.sinceMs,
      });
      if (resumed || filter.sinceMs !== undefined) gaps = await trimmedSince(control, prefix, positions);
    } catch (err) {
      return sendError(res, 503, `Redis unavailable: ${errorMessage(err)}`);
    }
    const listener = new StreamListener(res, positions, filter, {
      ...this.options,
      control,
      feed,
      done: () => this.#open.delete(listener),
    });
    this.#open.add(listener);
    await listener.run(gaps);
  };
}

interface ListenerDeps extends ListenOptions {
  readonly control: RedisClient;
  readonly feed: LiveFeed;
  done(): void;
}

/** One client's stream: reads by itself until it has caught up, then from the shared feed. */
class StreamListener implements FeedSubscriber {
  readonly #seen = new Set<string>();
  #sent: string;
  #open = true;
  #heartbeat: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;

  constructor(
    private readonly res: Response,
    readonly positions: Positions,
    private readonly filter: EventFilter,
    private readonly deps: ListenerDeps,
  ) {
    this.#sent = formatPositions(positions);
  }

  /** One read's entries, written in one go (corked: one syscall, not one per event). */
  take(entries: readonly StreamEntry[]): boolean {
    if (!this.#open) return false;
    this.res.cork();
    for (const entry of entries) this.#offer(entry);
    this.#settle();
    this.res.uncork();
    return this.res.writableLength <= liveBufferBytes;
  }

  #offer(entry: StreamEntry): void {
    const own = this.positions.get(entry.queue);
    if (own !== undefined && compareIds(entry.id, own) <= 0) return;
    this.positions.set(entry.queue, entry.id);
    const added = entry.added;
    if (!added || this.#seen.has(added.event.id) || !eventMatches(added.event, this.filter)) return;
    this.#seen.add(added.event.id);
    if (this.#seen.size > recentIds) this.#seen.delete(this.#seen.values().next().value as string);
    this.#sent = formatPositions(this.positions);
    const data = added.json.includes('\n') ? added.json.split('\n').join('\ndata: ') : added.json;
    this.res.write(`id: ${this.#sent}\ndata: ${data}\n\n`);
  }

  /** Entries skipped (other job events, filtered out) move the position too: an `id:` alone says so. */
  #settle(): void {
    const now = formatPositions(this.positions);
    if (!this.#open || now === this.#sent) return;
    this.res.write(`id: ${now}\n\n`);
    this.#sent = now;
  }

  dropped(): void {
    this.#wake?.();
  }

  stop(): void {
    if (!this.#open) return;
    this.#open = false;
    clearInterval(this.#heartbeat);
    this.deps.feed.leave(this);
    this.#wake?.();
    this.deps.done();
    this.res.end();
  }

  async run(gaps: ReadonlyArray<Record<string, unknown>>): Promise<void> {
    const { res, deps } = this;
    res.on('close', () => this.stop());
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx: do not buffer this response, whatever proxy_buffering says.
      'x-accel-buffering': 'no',
    });
    // The start position first: a client cut before any event still resumes from here, not from "now".
    res.write(
      `retry: ${retryMs}\nid: ${this.#sent}\n\n${gaps.map((g) => `event: gap\ndata: ${JSON.stringify(g)}\n\n`).join('')}`,
    );
    this.#heartbeat = setInterval(() => {
      if (!res.writableNeedDrain) res.write(': keep-alive\n\n');
    }, deps.heartbeatMs ?? 15_000);

    try {
      while (this.#open) {
        if (res.writableNeedDrain && !(await this.#drained())) {
          if (this.#open)
            deps.log?.info({ stallMs: deps.stallMs ?? 30_000 }, 'listen: cut a client that stopped reading');
          break;
        }
        const entries = await readEntries(deps.control, deps.redis.prefix, this.positions);
        if (!this.#open) break;
        if (entries.length > 0) this.take(entries);
        else if (deps.feed.join(this)) {
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
          this.#wake = undefined;
        } else {
          await sleep(20); // the feed moved on past what it keeps: read on by ourselves
        }
      }
    } catch (err) {
      if (this.#open) deps.log?.warn({ err: errorMessage(err) }, 'listen: stream ended on a Redis error');
    }
    this.stop();
  }

  #drained(): Promise<boolean> {
    const { res } = this;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => done(false), this.deps.stallMs ?? 30_000);
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
  }
}
