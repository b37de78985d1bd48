import type { RelayConfig } from '../config/schema.js';
import { createRedis, type RedisClient } from './connection.js';

/**
 * Redis replication is asynchronous: a write the master has answered can still be lost when a
 * replica that had not received it is promoted (Sentinel or Cluster failover). `WAIT n timeout`
 * blocks until `n` replicas acknowledged every earlier write *of the same connection*
 * (https://redis.io/docs/latest/commands/wait/), which would block the shared producer connection
 * for a replication round trip per request.
 *
 * The fence instead runs on its own connection: one tiny write (`INCR` on a key in the prefix's
 * slot), then `WAIT`. Redis executes commands one at a time, so the fence's replication offset is
 * past every write any connection had completed before it; once `WAIT` reports `replicas` acks, all
 * of them are on the replicas. Concurrent callers share one round (group commit): a caller that
 * arrives while a round is in flight joins the next one, so at most two rounds are ever pending.
 */
export class ReplicaFence {
  #inflight: Promise<void> | undefined;
  #next: Promise<void> | undefined;

  /**
   * @param connection a connection used for nothing else (`WAIT` blocks it)
   * @param key a key in the relay's slot, e.g. `${prefix}:relay:fence`
   */
  constructor(
    private readonly connection: RedisClient,
    private readonly key: string,
    readonly replicas: number,
    readonly timeoutMs: number,
  ) {}

  /**
   * Resolves once every write completed before this call is on `replicas` replicas; rejects when
   * fewer acknowledged within `timeoutMs` (answer 503: the write may not survive a failover).
   */
  wait(): Promise<void> {
    if (this.replicas <= 0) return Promise.resolve();
    if (!this.#inflight) {
      this.#inflight = this.#round().finally(() => {
        this.#inflight = undefined;
      });
      return this.#inflight;
    }
    if (!this.#next) {
      this.#next = this.#inflight
        .catch(() => {})
        .then(() => {
          this.#next = undefined;
          return this.wait();
        });
    }
    return this.#next;
  }

  async #round(): Promise<void> {
    const results = await this.connection
      .pipeline()
      .incr(this.key)
      .call('WAIT', String(this.replicas), String(this.timeoutMs))
      .exec();
    const [incr, wait] = results ?? [];
    const err = incr?.[0] ?? wait?.[0];
    if (err) throw err;
    const acked = Number(wait?.[1]);
    if (!(acked >= this.replicas)) {
      throw new Error(
        `only ${acked} of ${this.replicas} Redis replicas acknowledged the write within ${this.timeoutMs} ms`,
      );
    }
  }
}

/**
 * The fence the config asks for (`redis.minReplicas`, default 1 with Sentinel, else none), on a
 * connection of its own; undefined when writes need no replica.
 */
export function replicaFenceFor(
  redis: RelayConfig['redis'],
): { fence: ReplicaFence; connection: RedisClient } | undefined {
  const minReplicas = redis.minReplicas ?? (redis.sentinels ? 1 : 0);
  if (minReplicas <= 0) return undefined;
  const connection = createRedis(redis, 'producer', 'relay-fence');
  const fence = new ReplicaFence(
    connection,
    `${redis.prefix}:relay:fence`,
    minReplicas,
    redis.replicaTimeoutMs,
  );
  return { fence, connection };
}
