import { type JobsOptions, Queue } from 'bullmq';
import type { RelayConfig } from '../config/schema.js';
import type { RedisClient } from '../redis/connection.js';
import type { RelayEvent } from './envelope.js';

/** BullMQ's `{ age, count }`: whichever limit a job passes first removes it. */
const retention = (hours: number, count: number | undefined) => ({
  age: Math.round(hours * 3600),
  ...(count === undefined ? {} : { count }),
});

/** Job options every event gets: retries with exponential backoff, and retention for inspection and replay. */
export function jobDefaults(q: RelayConfig['queue']): JobsOptions {
  return {
    attempts: q.attempts,
    backoff: { type: 'exponential', delay: q.backoffMs },
    removeOnComplete: retention(q.keepCompletedHours, q.keepCompletedCount),
    removeOnFail: retention(q.keepFailedHours, q.keepFailedCount),
  };
}

/**
 * Destination queues retry with the delivery workers' own backoff (`deliveryBackoff` in
 * src/destinations/workers.ts): exponential, but never sooner than the destination's Retry-After.
 */
export const deliveryBackoffType = 'relay-delivery';

export type EventQueue = Queue<RelayEvent, unknown, string>;

/** One BullMQ `Queue` per name, all on one shared connection. */
export class QueueSet {
  readonly #queues = new Map<string, EventQueue>();
  constructor(
    private readonly connection: RedisClient,
    private readonly config: Pick<RelayConfig, 'redis' | 'queue'> & {
      readonly destinations?: readonly { readonly name: string }[];
    },
  ) {}

  get(name: string): EventQueue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue<RelayEvent, unknown, string>(name, {
        connection: this.connection,
        prefix: this.config.redis.prefix,
        defaultJobOptions: this.config.destinations?.some((d) => d.name === name)
          ? {
              ...jobDefaults(this.config.queue),
              backoff: { type: deliveryBackoffType, delay: this.config.queue.backoffMs },
            }
          : jobDefaults(this.config.queue),
        skipWaitingForReady: true,
        // BullMQ's lazy start-up check would cache a failure forever when a queue is first used
        // while Redis is down; the relay checks the version once at start instead (checkRedisVersion).
        skipVersionCheck: true,
      });
      // Errors surface on the calls that fail; the queue's own error event would only repeat them.
      queue.on('error', () => {});
      this.#queues.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    this.#queues.clear();
  }
}
