import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisClient } from '../redis/connection.js';

const renewScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export const holderId = (): string => `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;

/**
 * A lease in Redis (`SET NX PX`, renewed, fenced by a token) so that with any number of replicas
 * exactly one runs each outbound loop. Renewal and release only touch the key while it still holds
 * this holder's token, so a replica that lost its lease can never extend or drop another's.
 */
export class Lease {
  constructor(
    private readonly redis: RedisClient,
    readonly key: string,
    readonly token: string,
    readonly ttlMs: number,
  ) {}

  async acquire(): Promise<boolean> {
    return (await this.redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX')) === 'OK';
  }

  /** False when the lease is no longer ours (expired and taken, or deleted). */
  async renew(): Promise<boolean> {
    return (await this.redis.eval(renewScript, 1, this.key, this.token, String(this.ttlMs))) === 1;
  }

  async release(): Promise<void> {
    await this.redis.eval(releaseScript, 1, this.key, this.token);
  }

  /** Who holds it now, if anyone. */
  holder(): Promise<string | null> {
    return this.redis.get(this.key);
  }
}
