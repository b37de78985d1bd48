import type { RelayConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { LoopRunner } from '../loops/runner.js';
import type { Metrics } from '../metrics.js';
import { toEnvelope } from '../queue/envelope.js';
import type { Producer } from '../queue/producer.js';
import type { RedisClient } from '../redis/connection.js';

export interface LoopDeps {
  readonly config: RelayConfig;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly redis: RedisClient;
  /** Loops write jobs directly: they move their cursor only once the jobs exist. */
  readonly producer: Producer;
  /** Lease time to live (tests shorten it); default the runner's. */
  readonly leaseTtlMs: number | undefined;
  now(): number;
}

/** The supervisor of every channel's outbound loops (started later, once the servers listen). */
export function buildLoops({ config, log, metrics, redis, producer, leaseTtlMs, now }: LoopDeps): LoopRunner {
  return new LoopRunner({
    log,
    metrics,
    now,
    redis,
    prefix: config.redis.prefix,
    ...(leaseTtlMs ? { leaseTtlMs, standbyPollMs: Math.max(100, Math.floor(leaseTtlMs / 5)) } : {}),
    publicUrl: config.publicUrl,
    emit: (channel, account, events) => {
      const id = channel.accountId(account);
      return producer.emit(
        events.map((e) => toEnvelope(channel, id, e, now())),
        channel.queueOf(account),
      );
    },
  });
}
