import type { RelayConfig, RouteRule } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { type EventSink, Journal } from '../queue/journal.js';
import { Producer } from '../queue/producer.js';
import { type JobPump, Pump } from '../queue/pump.js';
import { PumpThread } from '../queue/pump-thread.js';
import type { QueueSet } from '../queue/queues.js';
import { createRedis, type RedisClient } from '../redis/connection.js';
import { replicaFenceFor } from '../redis/replicas.js';
import { quietErrors, quit } from './redis.js';

/** Where events go: the producer (jobs at once), or the journal the pump turns into jobs. */
export interface EventSinks {
  readonly producer: Producer;
  /** What inbound requests write to: the journal when it is on, else the producer. */
  readonly ingest: EventSink;
  readonly pump: JobPump | undefined;
  /** Closes the sink's own connections (the pump is stopped with the public server). */
  close(): Promise<void>;
}

export interface EventSinkDeps {
  readonly config: RelayConfig;
  readonly log: Logger;
  readonly queues: QueueSet;
  readonly routes: RouteRule[];
  readonly metrics: Metrics;
  now(): number;
}

export function buildEventSinks({ config, log, queues, routes, metrics, now }: EventSinkDeps): EventSinks {
  // Replication is asynchronous: with replicas, a write is acknowledged only once they hold it,
  // so a failover cannot lose what a provider was told is safe (proven in test/faults/sentinel).
  const fencing = replicaFenceFor(config.redis);
  const fenceRedis = quietErrors(fencing?.connection, log);
  const fence = fencing?.fence;
  const producer = new Producer(queues, { ...config, routes }, metrics, fence);
  const settings = config.queue.journal?.enabled ? config.queue.journal : undefined;
  if (!settings) return { producer, ingest: producer, pump: undefined, close: () => quit(fenceRedis) };

  // The ingest journal: requests are acknowledged on one XADD, the pump makes the jobs.
  const journalRedis = quietErrors(createRedis(config.redis, 'producer', 'relay-journal'), log);
  // Only XADDs on this connection (no BullMQ script, the cause of ioredis#1931 on the producer's):
  // auto-pipelining batches the concurrent requests' writes into one socket write.
  journalRedis.options.enableAutoPipelining = true;
  const journal = new Journal(
    journalRedis,
    config.redis.prefix,
    settings.maxBacklog,
    config.queue.name,
    metrics,
    fence,
  );
  const claimIdleMs = settings.claimIdleSec * 1000;
  let pumpRedis: RedisClient | undefined;
  let pump: JobPump;
  if (settings.pump === 'thread') {
    pump = new PumpThread({
      config: {
        redis: config.redis,
        queue: config.queue,
        routes,
        destinations: config.destinations.map((d) => ({ name: d.name })),
      },
      journal,
      metrics,
      log,
      batch: settings.batch,
      claimIdleMs,
    });
  } else {
    pumpRedis = quietErrors(createRedis(config.redis, 'blocking', 'relay-pump'), log);
    pump = new Pump({ redis: pumpRedis, journal, producer, log, batch: settings.batch, claimIdleMs, now });
  }
  return {
    producer,
    ingest: journal,
    pump,
    async close() {
      for (const r of [journalRedis, pumpRedis, fenceRedis]) await quit(r);
    },
  };
}
