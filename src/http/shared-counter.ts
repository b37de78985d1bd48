import type { ClientRateLimitInfo, Store } from 'express-rate-limit';
import type { RedisClient } from '../redis/connection.js';

/**
 * An express-rate-limit store that counts locally and syncs to Redis in batches, so the general
 * limit adds no Redis round trip to a request: every `flushMs` one pipeline adds what each key
 * counted here (INCRBY) and reads back the total of every replica. Replicas see each other's
 * counts within `flushMs`; with Redis unreachable each replica keeps limiting on its own count.
 */
const script = `
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {n, ttl}`;

interface Entry {
  /** The total across replicas at the last sync, plus what this replica counted while Redis was away. */
  shared: number;
  /** Counted here, not yet sent. */
  pending: number;
  /** Sent, not yet answered. */
  inflight: number;
  resetAt: number;
}

/** Keys tracked at once; past it a window's new keys are counted only in Redis' next answer. */
const maxKeys = 100_000;

export class SharedCounterStore implements Store {
  readonly localKeys = false;
  readonly #entries = new Map<string, Entry>();
  #windowMs = 60_000;
  #timer: NodeJS.Timeout | undefined;
  #flushing = false;

  constructor(
    private readonly redis: RedisClient,
    readonly prefix: string,
    private readonly flushMs = 200,
    private readonly now: () => number = Date.now,
  ) {}

  init(options: { windowMs: number }): void {
    this.#windowMs = options.windowMs;
    this.#timer = setInterval(() => void this.flush(), this.flushMs);
    this.#timer.unref();
  }

  #entry(key: string): Entry {
    const now = this.now();
    let e = this.#entries.get(key);
    if (!e || now >= e.resetAt) {
      if (!e && this.#entries.size >= maxKeys) this.#sweep(now);
      e = { shared: 0, pending: 0, inflight: 0, resetAt: now + this.#windowMs };
      this.#entries.set(key, e);
    }
    return e;
  }

  increment(key: string): ClientRateLimitInfo {
    const e = this.#entry(key);
    e.pending += 1;
    return { totalHits: e.shared + e.inflight + e.pending, resetTime: new Date(e.resetAt) };
  }

  get(key: string): ClientRateLimitInfo | undefined {
    const e = this.#entries.get(key);
    return e ? { totalHits: e.shared + e.inflight + e.pending, resetTime: new Date(e.resetAt) } : undefined;
  }

  decrement(key: string): void {
    const e = this.#entries.get(key);
    if (e) e.pending -= 1;
  }

  resetKey(key: string): void {
    this.#entries.delete(key);
  }

  #sweep(now: number): void {
    for (const [key, e] of this.#entries) if (now >= e.resetAt && e.pending === 0) this.#entries.delete(key);
  }

  /** Sends every key's pending count in one pipeline; one round trip per interval, not per request. */
  async flush(): Promise<void> {
    if (this.#flushing) return;
    const batch: Array<[string, Entry, number]> = [];
    for (const [key, e] of this.#entries) {
      if (e.pending === 0) continue;
      batch.push([key, e, e.pending]);
      e.inflight += e.pending;
      e.pending = 0;
    }
    if (batch.length === 0) {
      this.#sweep(this.now());
      return;
    }
    this.#flushing = true;
    try {
      const pipeline = this.redis.pipeline();
      for (const [key, , sent] of batch)
        pipeline.eval(script, 1, `${this.prefix}${key}`, String(sent), String(this.#windowMs));
      const results = (await pipeline.exec()) ?? [];
      const now = this.now();
      batch.forEach(([, e, sent], i) => {
        e.inflight -= sent;
        const [err, reply] = results[i] ?? [new Error('no reply')];
        if (err || !Array.isArray(reply)) {
          e.shared += sent;
          return;
        }
        e.shared = Number(reply[0]);
        e.resetAt = now + Number(reply[1]);
      });
    } catch {
      // Redis away: keep limiting on this replica's own counts.
      for (const [, e, sent] of batch) {
        e.inflight -= sent;
        e.shared += sent;
      }
    } finally {
      this.#flushing = false;
    }
  }

  shutdown(): void {
    clearInterval(this.#timer);
  }
}
