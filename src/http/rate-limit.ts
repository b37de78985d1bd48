import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, MemoryStore, rateLimit } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import type { RelayConfig } from '../config/schema.js';
import type { RedisClient } from '../redis/connection.js';
import { SharedCounterStore } from './shared-counter.js';

export type RateLimitSettings = RelayConfig['server']['rateLimit'];

/** What the public app is told when a request is refused for its rate. */
export type OnLimited = (req: Request, res: Response, retryAfterSec: number) => void;

/** Answers that count as failed authentication: bad or missing credentials, and unknown accounts (probing). */
export const failedAuthStatuses: ReadonlySet<number> = new Set([401, 403, 404]);

/**
 * Rate limits of the public port, per client address and route (the route's path pattern, so
 * guessing across triggers shares one count):
 * - a generous general limit on every request, counted locally and synced to Redis in batches
 *   (`SharedCounterStore`): no Redis round trip on the request path;
 * - a strict limit on requests that fail authentication, counted in Redis (`rate-limit-redis`) once
 *   per failure; past it the client and route get 429 until the window ends. The block is checked
 *   locally; another replica learns it at that client's next failure there.
 */
export class PublicRateLimits {
  readonly #settings: RateLimitSettings;
  readonly #windowMs: number;
  readonly #failures: RedisStore;
  readonly #fallback = new MemoryStore();
  readonly #blocked = new Map<string, number>();
  readonly #stores: SharedCounterStore[] = [];

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    settings: RateLimitSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.#settings = settings;
    this.#windowMs = settings.windowSec * 1000;
    this.#failures = new RedisStore({
      prefix: `${prefix}:relay:rl:auth:`,
      sendCommand: (command: string, ...args: string[]) =>
        redis.call(command, ...args) as Promise<number | string>,
    });
    const options = { windowMs: this.#windowMs } as Parameters<RedisStore['init']>[0];
    // The store loads its Lua script at init; with Redis away that rejects, and it retries per call.
    void Promise.resolve(this.#failures.init(options)).catch(() => {});
    this.#fallback.init(options);
  }

  get enabled(): boolean {
    return this.#settings.enabled;
  }

  /** `client|route`: the client's address (IPv6 by /56 subnet, as express-rate-limit advises) and the route pattern. */
  key(ip: string, routePath: string): string {
    return `${ipKeyGenerator(ip)}|${routePath}`;
  }

  /** Seconds until a blocked client may try again on this route; undefined when not blocked. */
  blockedFor(key: string): number | undefined {
    const until = this.#blocked.get(key);
    if (until === undefined) return undefined;
    const left = until - this.now();
    if (left <= 0) {
      this.#blocked.delete(key);
      return undefined;
    }
    return Math.max(1, Math.ceil(left / 1000));
  }

  /** Counts one failed authentication, shared through Redis (this replica's memory when Redis is away). */
  async recordFailure(key: string): Promise<void> {
    let info: { totalHits: number; resetTime: Date | undefined };
    try {
      info = await this.#failures.increment(key);
    } catch {
      info = await this.#fallback.increment(key);
      // A script load that failed while Redis was away would otherwise fail every later call.
      const reload = this.#failures.loadIncrementScript();
      reload.catch(() => {});
      this.#failures.incrementScriptSha = reload;
    }
    if (info.totalHits >= this.#settings.failedAuthMax) {
      this.#blocked.set(key, info.resetTime?.getTime() ?? this.now() + this.#windowMs);
      if (this.#blocked.size > 100_000) this.#sweep();
    }
  }

  #sweep(): void {
    const now = this.now();
    for (const [key, until] of this.#blocked) if (until <= now) this.#blocked.delete(key);
  }

  /** express-rate-limit middleware for one route's general limit. */
  general(routePath: string, keyOf: (req: Request) => string, onLimited: OnLimited): RequestHandler {
    const store = new SharedCounterStore(this.redis, `${this.prefix}:relay:rl:all:`);
    this.#stores.push(store);
    return rateLimit({
      windowMs: this.#windowMs,
      limit: this.#settings.max,
      store,
      keyGenerator: keyOf,
      standardHeaders: false,
      legacyHeaders: false,
      // The key comes from express's req.ip under server.trustProxy; the library's own checks
      // (trust proxy, X-Forwarded-For) would only repeat that, on the console instead of the log.
      validate: false,
      passOnStoreError: true,
      identifier: routePath,
      handler: (req, res) => {
        const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
        const retryAfterSec = Math.max(1, Math.ceil(((reset?.getTime() ?? 0) - this.now()) / 1000));
        onLimited(req, res, retryAfterSec);
      },
    });
  }

  /**
   * One route's general limit without express: counts a request under `key` and returns the
   * seconds to wait when it is over `max` (as express-rate-limit does: refused past `limit`).
   */
  counter(): (key: string) => number | undefined {
    const store = new SharedCounterStore(this.redis, `${this.prefix}:relay:rl:all:`);
    store.init({ windowMs: this.#windowMs });
    this.#stores.push(store);
    return (key) => {
      const { totalHits, resetTime } = store.increment(key);
      if (totalHits <= this.#settings.max) return undefined;
      return Math.max(1, Math.ceil(((resetTime?.getTime() ?? 0) - this.now()) / 1000));
    };
  }

  close(): void {
    for (const store of this.#stores) store.shutdown();
    this.#fallback.shutdown();
  }
}
