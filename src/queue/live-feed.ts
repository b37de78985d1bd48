import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis/connection.js';
import { compareIds, type Positions, readEntries, type StreamEntry } from './event-log.js';

/** What the feed hands each entry to: a listener that has caught up with the streams. */
export interface FeedSubscriber {
  /** Its own position per queue: entries at or before it are already its own. */
  readonly positions: Positions;
  /** Takes one read's entries; false: it cannot take more now (its client is slow), and leaves the feed. */
  take(entries: readonly StreamEntry[]): boolean;
  /** The feed let it go (slow, or the feed stopped): it reads on by itself. */
  dropped(): void;
}

/**
 * The shared reader reads at most this often: under load each read then carries several events, and
 * each listener gets them in one socket write instead of one per event. A debugging stream can
 * spare the few milliseconds.
 */
const minReadIntervalMs = 25;

/** Reads kept for listeners that join: a listener caught up to any point within them joins at once. */
const ringReads = 32;

/**
 * One blocking reader per relay process that every caught-up listener shares: Redis answers one
 * XREAD, the envelopes are fetched and parsed once, whatever the number of listeners. A listener
 * that is behind (a resume, `since`, a slow client) reads by itself with non-blocking reads until it
 * has caught up, then joins here; the last reads are kept so that joining misses nothing even when
 * the feed has moved on between the listener's last read and its join.
 */
export class LiveFeed {
  readonly #subscribers = new Set<FeedSubscriber>();
  readonly #ring: Array<{ before: Positions; entries: StreamEntry[] }> = [];
  #positions: Positions | undefined;
  #running = false;
  #closed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly blockMs: number,
    private readonly log?: Logger,
  ) {}

  get size(): number {
    return this.#subscribers.size;
  }

  /**
   * Joins when the kept reads cover everything after the subscriber's position (then offers it
   * what it has not seen); false when it is too far behind and must read on by itself first.
   */
  join(subscriber: FeedSubscriber): boolean {
    if (!this.#positions) this.#positions = new Map(subscriber.positions);
    const oldest = this.#ring[0]?.before ?? this.#positions;
    for (const [queue, id] of oldest) {
      const own = subscriber.positions.get(queue);
      if (own === undefined || compareIds(own, id) < 0) return false;
    }
    for (const { entries } of this.#ring) if (!subscriber.take(entries)) return false;
    this.#subscribers.add(subscriber);
    if (!this.#running) void this.#run();
    return true;
  }

  leave(subscriber: FeedSubscriber): void {
    this.#subscribers.delete(subscriber);
  }

  /** Before its connection is closed: the read that fails then is no news. */
  close(): void {
    this.#closed = true;
    for (const subscriber of [...this.#subscribers]) this.#drop(subscriber);
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#subscribers.size > 0 && this.#positions) {
        const before = new Map(this.#positions);
        const started = Date.now();
        const entries = await readEntries(this.redis, this.prefix, before, this.blockMs);
        for (const entry of entries) this.#positions.set(entry.queue, entry.id);
        if (entries.length === 0) continue;
        this.#ring.push({ before, entries });
        if (this.#ring.length > ringReads) this.#ring.shift();
        for (const subscriber of [...this.#subscribers])
          if (!subscriber.take(entries)) this.#drop(subscriber);
        const wait = started + minReadIntervalMs - Date.now();
        if (wait > 0) await sleep(wait);
      }
    } catch (err) {
      if (!this.#closed)
        this.log?.warn({ err: errorMessage(err) }, 'listen: the shared reader stopped on a Redis error');
      for (const subscriber of [...this.#subscribers]) this.#drop(subscriber);
    }
    // Idle: the next listener starts the feed again from its own position.
    this.#running = false;
    this.#positions = undefined;
    this.#ring.length = 0;
  }

  #drop(subscriber: FeedSubscriber): void {
    this.#subscribers.delete(subscriber);
    subscriber.dropped();
  }
}
