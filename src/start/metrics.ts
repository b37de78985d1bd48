import type { RelayConfig } from '../config/schema.js';
import { Metrics } from '../metrics.js';
import { journalKey } from '../queue/journal.js';
import type { QueueSet } from '../queue/queues.js';
import type { RedisClient } from '../redis/connection.js';

/** The relay's Prometheus metrics: job counts per queue and state, and the journal's lag when it is on. */
export function relayMetrics(
  config: RelayConfig,
  redis: RedisClient,
  queues: QueueSet,
  queueNames: readonly string[],
): Metrics {
  return new Metrics(
    async () => {
      const out: Array<{ queue: string; state: string; count: number }> = [];
      for (const name of queueNames) {
        const counts = await queues
          .get(name)
          .getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
        for (const [state, count] of Object.entries(counts)) out.push({ queue: name, state, count });
      }
      return out;
    },
    config.queue.journal?.enabled ? () => journalLag(redis, journalKey(config.redis.prefix)) : undefined,
  );
}

/** The journal's backlog and the age of its oldest entry (stream ids start with their time in ms). */
async function journalLag(redis: RedisClient, key: string): Promise<{ backlog: number; lagSeconds: number }> {
  const replies = (await redis.multi().xlen(key).xrange(key, '-', '+', 'COUNT', 1).exec()) ?? [];
  const failed = replies.find(([err]) => err)?.[0];
  if (failed) throw failed;
  const length = Number(replies[0]?.[1] ?? 0);
  const first = replies[1]?.[1] as Array<[string, string[]]> | undefined;
  const oldest = Number(first?.[0]?.[0].split('-')[0] ?? Number.NaN);
  // Redis ids carry Redis's clock; Date.now, not the injected clock, is the one to compare with.
  return {
    backlog: length,
    lagSeconds: Number.isNaN(oldest) ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
  };
}
