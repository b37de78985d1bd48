import type { RedisClient } from '../redis/connection.js';

const fencedSet = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('HSET', KEYS[2], ARGV[2], ARGV[3], ARGV[4], ARGV[5]) return 1 else return 0 end`;

/**
 * A loop's position upstream (history id, delta link, update offset), kept in Redis so another
 * replica resumes where the last one stopped. A write is fenced by the lease: a replica that lost
 * its lease cannot move the cursor under the new holder.
 */
export class CursorStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
  ) {}

  get(field: string): Promise<string | null> {
    return this.redis.hget(this.key, field);
  }

  /** When it last moved (ms), for "cursor age" in /admin/channels. */
  async movedAt(field: string): Promise<number | undefined> {
    const at = await this.redis.hget(this.key, `${field}@at`);
    return at ? Number(at) : undefined;
  }

  /** Moves the cursor only while `leaseKey` holds `token`; false when the lease was lost. */
  async set(field: string, value: string, leaseKey: string, token: string, nowMs: number): Promise<boolean> {
    const done = await this.redis.eval(
      fencedSet,
      2,
      leaseKey,
      this.key,
      token,
      field,
      value,
      `${field}@at`,
      String(nowMs),
    );
    return done === 1;
  }
}
