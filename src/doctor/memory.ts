import type { RelayConfig } from '../config/schema.js';
import { formatBytes, sampleEventBytes } from '../queue/sizing.js';
import type { RedisClient } from '../redis/connection.js';
import { type Finding, finding } from './finding.js';

/**
 * Will retention fit in Redis? The current event rate (jobs made in the last hour, per queue) times
 * what retention keeps (`keepCompletedHours`, capped by `keepCompletedCount`) times the bytes a
 * retained event takes (sampled from the newest jobs), against Redis `maxmemory`. When Redis is
 * full, every request gets 503 (docs/operations.md, "Sizing").
 */

const windowMs = 3_600_000;
const sampleJobs = 20;

export interface QueueLoad {
  readonly queue: string;
  /** Events made in the last hour. */
  readonly lastHour: number;
  /** Mean bytes of a retained event (job hash, dedupe key, index entries); undefined without jobs. */
  readonly bytesPerEvent: number | undefined;
}

export interface MemoryFacts {
  /** 0: unset (no bound). */
  readonly maxmemory: number;
  readonly usedMemory: number;
  readonly queues: readonly QueueLoad[];
}

function infoNumber(info: string, field: string): number {
  const line = info.split(/\r?\n/).find((l) => l.startsWith(`${field}:`));
  return Number(line?.slice(field.length + 1).trim() ?? 0) || 0;
}

async function queueLoad(
  redis: RedisClient,
  prefix: string,
  queue: string,
  nowMs: number,
): Promise<QueueLoad> {
  const key = (part: string) => `${prefix}:${queue}:${part}`;
  const since = nowMs - windowMs;
  // Finished jobs are scored by when they finished; waiting and active ones are recent by nature.
  const [completed, failed, waiting, active, delayed, prioritized] = await Promise.all([
    redis.zcount(key('completed'), since, '+inf'),
    redis.zcount(key('failed'), since, '+inf'),
    redis.llen(key('wait')),
    redis.llen(key('active')),
    redis.zcard(key('delayed')),
    redis.zcard(key('prioritized')),
  ]);
  return {
    queue,
    lastHour: completed + failed + waiting + active + delayed + prioritized,
    bytesPerEvent: await sampleEventBytes(redis, prefix, queue, sampleJobs),
  };
}

export async function readMemoryFacts(
  redis: RedisClient,
  prefix: string,
  queues: readonly string[],
  nowMs: number,
): Promise<MemoryFacts> {
  const info = String(await redis.info('memory'));
  return {
    maxmemory: infoNumber(info, 'maxmemory'),
    usedMemory: infoNumber(info, 'used_memory'),
    queues: await Promise.all(queues.map((q) => queueLoad(redis, prefix, q, nowMs))),
  };
}

const perSecond = (n: number) => (n / 3600).toFixed(n >= 360 ? 0 : 2);

/** One finding: the projection against `maxmemory`, with every figure in the line. */
export function memoryFindings(facts: MemoryFacts, queue: RelayConfig['queue']): Finding[] {
  const retainedSec = queue.keepCompletedHours * 3600;
  let events = 0;
  let bytes = 0;
  for (const q of facts.queues) {
    const kept = Math.min(
      (q.lastHour / 3600) * retainedSec,
      queue.keepCompletedCount ?? Number.POSITIVE_INFINITY,
    );
    events += kept;
    bytes += kept * (q.bytesPerEvent ?? 0);
  }
  const lastHour = facts.queues.reduce((n, q) => n + q.lastHour, 0);
  const each = events === 0 ? 0 : bytes / events;
  const cap = queue.keepCompletedCount === undefined ? '' : `, at most ${queue.keepCompletedCount} per queue`;
  const projection =
    lastHour === 0
      ? 'no events in the last hour to project from'
      : `${perSecond(lastHour)} events/s over the last hour × ${queue.keepCompletedHours} h retention${cap} keeps ${Math.round(events)} events × ${formatBytes(each)} = ${formatBytes(bytes)}`;
  if (facts.maxmemory === 0) {
    return [
      finding(
        'warning',
        'redis memory',
        `maxmemory is not set: nothing bounds Redis (using ${formatBytes(facts.usedMemory)}); ${projection}. Set maxmemory with maxmemory-policy noeviction, and queue.keepCompletedCount to fit (docs/operations.md, "Sizing")`,
      ),
    ];
  }
  const limit = `maxmemory ${formatBytes(facts.maxmemory)} (using ${formatBytes(facts.usedMemory)})`;
  if (bytes > facts.maxmemory) {
    const fits =
      each === 0 ? 0 : Math.floor((facts.maxmemory * 0.8) / each / Math.max(1, facts.queues.length));
    return [
      finding(
        'warning',
        'redis memory',
        `${projection}, past ${limit}: once Redis is full every request gets 503. Set queue.keepCompletedCount to about ${fits}, lower queue.keepCompletedHours, or raise maxmemory (docs/operations.md, "Sizing")`,
      ),
    ];
  }
  return [finding('ok', 'redis memory', `${projection}, within ${limit}`)];
}
