import type { RedisClient } from '../redis/connection.js';
import { retryWindowMs } from './envelope.js';

/**
 * What retained events cost in Redis, measured with `MEMORY USAGE` over one queue's keys. For the
 * bench, `relay doctor` and docs/operations.md ("Sizing"). BullMQ keeps per queue: one hash per job
 * (`<prefix>:<queue>:<jobId>`), a dedupe key per deduplicated job (`…:de:<id>`), index lists and
 * sorted sets (`wait`, `completed`, …) holding job ids, and an events stream capped by length
 * (`…:events`, about 10,000 entries whatever the retention: counted apart).
 */
export interface QueueBytes {
  /** Job hashes in the queue (any state). */
  readonly jobs: number;
  readonly jobBytes: number;
  /** Dedupe keys that outlive the retry window (a provider key's, for `queue.dedupeHours`). */
  readonly dedupeKeys: number;
  readonly dedupeBytes: number;
  /** Dedupe keys of keyless events, gone after the retry window: they do not grow with retention. */
  readonly retryDedupeBytes: number;
  /** The state indexes (lists and sorted sets of job ids) and the queue's small bookkeeping keys. */
  readonly indexBytes: number;
  /** BullMQ's capped events stream: a fixed cost per queue, not per retained event. */
  readonly eventsStreamBytes: number;
  /** (job + dedupe + index bytes) / jobs: what one more retained event costs. */
  readonly bytesPerEvent: number;
}

/** Keys holding job ids: one entry per job in that state. */
const indexKeys = new Set([
  'wait',
  'paused',
  'active',
  'delayed',
  'prioritized',
  'completed',
  'failed',
  'waiting-children',
]);

async function memoryUsage(redis: RedisClient, key: string): Promise<number> {
  const bytes = await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
  return typeof bytes === 'number' ? bytes : 0;
}

/** Measures one queue under `prefix`. SCANs its keys: meant for a bench or an operator's look, not a hot path. */
export async function measureQueue(redis: RedisClient, prefix: string, queue: string): Promise<QueueBytes> {
  const base = `${prefix}:${queue}:`;
  let jobs = 0;
  let jobBytes = 0;
  let dedupeKeys = 0;
  let dedupeBytes = 0;
  let retryDedupeBytes = 0;
  let indexBytes = 0;
  let eventsStreamBytes = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const rest = key.slice(base.length);
      const bytes = await memoryUsage(redis, key);
      if (rest === 'events') eventsStreamBytes += bytes;
      else if (rest.startsWith('de:')) {
        if ((await redis.pttl(key)) > retryWindowMs) {
          dedupeKeys++;
          dedupeBytes += bytes;
        } else retryDedupeBytes += bytes;
      } else if (indexKeys.has(rest) || rest === 'meta' || rest === 'id' || rest.includes(':')) {
        // `…:<jobId>:logs` and similar per-job extras are few; they count with the indexes.
        indexBytes += bytes;
      } else if ((await redis.type(key)) === 'hash') {
        jobs++;
        jobBytes += bytes;
      } else indexBytes += bytes;
    }
  } while (cursor !== '0');
  const perEvent = jobs === 0 ? 0 : Math.round((jobBytes + dedupeBytes + indexBytes) / jobs);
  return {
    jobs,
    jobBytes,
    dedupeKeys,
    dedupeBytes,
    retryDedupeBytes,
    indexBytes,
    eventsStreamBytes,
    bytesPerEvent: perEvent,
  };
}

/** A job's entries in BullMQ's state indexes, as `measureQueue` found them (docs/operations.md, "Sizing"). */
export const indexBytesPerEvent = 141;

/**
 * The mean bytes of one retained event from the newest `sample` jobs (completed first, then
 * waiting): job hash + a dedupe key that outlives the retry window + `indexBytesPerEvent`. A few
 * commands per job, so cheap on a queue of millions (for `relay doctor` and the bench); undefined
 * when the queue has no job.
 */
export async function sampleEventBytes(
  redis: RedisClient,
  prefix: string,
  queue: string,
  sample = 20,
): Promise<number | undefined> {
  const key = (part: string) => `${prefix}:${queue}:${part}`;
  const ids = [
    ...(await redis.zrevrange(key('completed'), 0, sample - 1)),
    ...(await redis.lrange(key('wait'), 0, sample - 1)),
  ].slice(0, sample);
  let total = 0;
  let sampled = 0;
  for (const id of ids) {
    const job = await memoryUsage(redis, key(id));
    if (job === 0) continue;
    const dedupeId = await redis.hget(key(id), 'deid');
    const dedupeKey = key(`de:${dedupeId}`);
    const dedupe =
      dedupeId && (await redis.pttl(dedupeKey)) > retryWindowMs ? await memoryUsage(redis, dedupeKey) : 0;
    total += job + dedupe + indexBytesPerEvent;
    sampled++;
  }
  return sampled === 0 ? undefined : Math.round(total / sampled);
}

/** One line for people: "1000 events, 2.1 KB each (job 1.9 KB, dedupe 0 B, index 61 B)". */
export function describeQueueBytes(m: QueueBytes): string {
  const each = (n: number) => formatBytes(m.jobs === 0 ? 0 : n / m.jobs);
  return `${m.jobs} events, ${formatBytes(m.bytesPerEvent)} each (job ${each(m.jobBytes)}, dedupe ${each(m.dedupeBytes)}, index ${each(m.indexBytes)}); retry-window dedupe ${each(m.retryDedupeBytes)}; events stream ${formatBytes(m.eventsStreamBytes)}`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
