import { ipKeyGenerator, MemoryStore } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import type { RelayConfig } from '../config/schema.js';
import type { RedisClient } from '../redis/connection.js';

export type RateLimitSettings = RelayConfig['server']['rateLimit'];

/** Answers that count as failed authentication: bad or missing credentials, and unknown accounts (probing). */
export const failedAuthStatuses: ReadonlySet<number> = new Set([401, 403, 404]);

/**
 * The public port's one rate limit: requests that fail authentication, per client address and
 * route (the route's path pattern, so guessing across triggers shares one count), counted in Redis
 * (`rate-limit-redis`) once per failure. Past `failedAuthMax` the client's *unverified* requests on
 * that route get 429 until the window ends; the decision is taken only after a request failed
 * verification, so a request that verifies is never refused for its rate, and a spoofed address
 * cannot lock a sender out. The block is checked locally; another replica learns it at that
 * client's next failure there.
 *
 * There is no limit on verified volume: that is the ingress's job (docs/operations.md), and the
 * relay protects itself by its in-flight bound (`server.maxInFlight`) instead.
 */
export class PublicRateLimits {
  readonly #settings: RateLimitSettings;
  readonly #windowMs: number;
  readonly #failures: RedisStore;
  readonly #fallback = new MemoryStore();
  readonly #blocked = new Map<string, number>();

  constructor(
    redis: RedisClient,
    prefix: string,
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

  /**
   * For a request that was refused with `status`: the seconds to answer 429 with when the client is
   * already past `failedAuthMax` on this route; otherwise the failure is counted (when it is a failed
   * authentication) and the request keeps its own answer (undefined).
   */
  async afterRefusal(key: string, status: number): Promise<number | undefined> {
    if (!failedAuthStatuses.has(status)) return undefined;
    const blocked = this.blockedFor(key);
    if (blocked === undefined) await this.recordFailure(key);
    return blocked;
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

  close(): void {
    this.#fallback.shutdown();
  }
}
