import type { RuntimeAccounts } from '../channel.js';
import { errorMessage, UnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis/connection.js';
import type { TriggerRecord } from './record.js';
import { triggersChannel, triggersKey } from './store.js';

interface Cached {
  readonly record: TriggerRecord;
  built?: { account: unknown; validUntil: number } | undefined;
}

/**
 * This replica's copy of the run-time triggers: the whole hash, loaded once and reloaded when a
 * change is announced on the pub/sub channel (within milliseconds on every replica), when the
 * subscription was re-established (a change may have been missed), and at the latest `ttlMs` after
 * the last load. A lookup of an unknown trigger costs no Redis call while the copy is fresh.
 */
export class RuntimeTriggers {
  #triggers = new Map<string, Cached>();
  #loadedAt = Number.NEGATIVE_INFINITY;
  #stale = true;
  #loading: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly prefix: string,
    private readonly runtime: RuntimeAccounts<unknown>,
    private readonly log: Logger,
    private readonly ttlMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<void> {
    const channel = triggersChannel(this.prefix);
    this.subscriber.on('message', (from: string) => {
      if (from === channel) this.#stale = true;
    });
    // After a reconnect ioredis subscribes again; whatever was announced meanwhile is lost.
    this.subscriber.on('ready', () => {
      this.#stale = true;
    });
    await this.subscriber.subscribe(channel);
    await this.#reload().catch((err) =>
      this.log.warn({ err: errorMessage(err) }, 'could not load run-time triggers; retrying on use'),
    );
  }

  /** The trigger's account, or undefined when there is none. Async only when the copy must be reloaded. */
  lookup(id: string): unknown | Promise<unknown> {
    if (this.#stale || Date.now() - this.#loadedAt >= this.ttlMs) {
      return this.#reload().then(
        () => this.#build(id),
        (err) => {
          if (this.#loadedAt === Number.NEGATIVE_INFINITY)
            throw new UnavailableError(`run-time triggers not loaded: ${errorMessage(err)}`, { cause: err });
          return this.#build(id); // Redis away: the last copy is the best answer.
        },
      );
    }
    return this.#build(id);
  }

  #build(id: string): unknown {
    const cached = this.#triggers.get(id);
    if (!cached) return undefined;
    const now = this.now();
    if (!cached.built || now >= cached.built.validUntil) {
      try {
        cached.built = this.runtime.fromRecord(cached.record, now);
      } catch (err) {
        this.log.warn({ trigger: id, problem: errorMessage(err) }, 'ignoring an invalid run-time trigger');
        return undefined;
      }
    }
    return cached.built.account;
  }

  #reload(): Promise<void> {
    this.#loading ??= (async () => {
      this.#stale = false;
      try {
        const all = await this.redis.hgetall(triggersKey(this.prefix));
        const next = new Map<string, Cached>();
        for (const [id, json] of Object.entries(all)) {
          try {
            next.set(id, { record: JSON.parse(json) as TriggerRecord });
          } catch {
            this.log.warn({ trigger: id }, 'ignoring an unreadable run-time trigger');
          }
        }
        this.#triggers = next;
        this.#loadedAt = Date.now();
      } catch (err) {
        this.#stale = true;
        throw err;
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }

  /** Ids currently known, for /admin/channels-style listings. */
  get ids(): string[] {
    return [...this.#triggers.keys()];
  }

  async close(): Promise<void> {
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }
}
