import { type Job, Worker, type WorkerOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { RelayEvent } from './envelope.js';

export type { RelayEvent };

export interface WorkerConfig {
  /** Default `relay-events` (the relay's `queue.name`). */
  readonly queue?: string;
  /** Default `redis://127.0.0.1:6379`. */
  readonly redisUrl?: string;
  /** The relay's `redis.prefix`; default `relay`. */
  readonly prefix?: string;
  readonly concurrency?: number;
  /** Anything else BullMQ's Worker takes. */
  readonly options?: Partial<Omit<WorkerOptions, 'connection' | 'prefix' | 'concurrency'>>;
}

/**
 * A BullMQ worker typed with the relay's envelope. Throwing from `handler` fails the attempt: BullMQ
 * retries it with the relay's backoff, and after the last attempt the job stays failed (the dead
 * letter) until someone replays it with `relay events replay`.
 */
export function createWorker(
  handler: (event: RelayEvent, job: Job<RelayEvent, unknown, string>) => Promise<unknown>,
  config: WorkerConfig = {},
): Worker<RelayEvent, unknown, string> {
  const connection = new Redis(config.redisUrl ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const worker = new Worker<RelayEvent, unknown, string>(
    config.queue ?? 'relay-events',
    (job) => handler(job.data, job),
    {
      ...config.options,
      connection,
      prefix: config.prefix ?? 'relay',
      concurrency: config.concurrency ?? 10,
    },
  );
  worker.on('closed', () => connection.disconnect());
  return worker;
}
