/**
 * BullMQ's own ceiling on this machine: jobs per second with no HTTP at all, for `npm run bench`.
 * Jobs are the relay's: the envelope the generic trigger makes of the bench body, the relay's job
 * options (job id, deduplication, retention) on its producer connection.
 *
 *   mode add       BullMQ `Queue.add`, `inflight` calls outstanding at all times (the issue's
 *                  "standalone ceiling")
 *   mode producer  the relay's `Producer.emit` (the adds of one event-loop turn as one `addBulk`),
 *                  `inflight` callers: the best the relay's job path does without its HTTP side
 *
 * env: REDIS_URL, CEILING_PREFIX, CEILING_QUEUE, CEILING_MODE, CEILING_SECONDS, CEILING_WARMUP,
 * CEILING_INFLIGHT, CEILING_BODY (the JSON body). Prints one line: `CEILING_JSON {...}`.
 */
import type { RedisClient } from '../src/redis/connection.js';

const env = process.env;
const mode = env.CEILING_MODE === 'producer' ? 'producer' : 'add';
const seconds = Number(env.CEILING_SECONDS ?? 8);
const warmupSec = Number(env.CEILING_WARMUP ?? 1);
const inflight = Number(env.CEILING_INFLIGHT ?? 100);

// Imported after reading the environment: LOG_LEVEL and friends are the relay's concern, not ours.
const [
  { webhook },
  { parseConfig },
  { toEnvelope },
  { Producer },
  { QueueSet },
  { createRedis, waitForReady },
] = await Promise.all([
  import('../channels/webhook/index.js'),
  import('../src/config/load.js'),
  import('../src/queue/envelope.js'),
  import('../src/queue/producer.js'),
  import('../src/queue/queues.js'),
  import('../src/redis/connection.js'),
]);

const config = parseConfig({
  redis: { url: env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: env.CEILING_PREFIX ?? 'bench-ceiling' },
  queue: { name: env.CEILING_QUEUE ?? 'bench-ceiling' },
});
const redis = createRedis(config.redis, 'producer', 'bench-ceiling');
const control = createRedis(config.redis, 'control', 'bench-ceiling-control');
await waitForReady(redis, 5000);
const queues = new QueueSet(redis, config);
const noMetrics = { enqueued: { inc: () => {} }, enqueueSeconds: { startTimer: () => () => 0 } };
const producer = new Producer(queues, config, noMetrics);
const queue = queues.get(config.queue.name);
const dedupeTtl = Math.round(config.queue.dedupeHours * 3_600_000);

const payload = JSON.parse(env.CEILING_BODY ?? '{}') as unknown;
const headers = { host: '127.0.0.1', 'content-type': 'application/json', 'content-length': '1024' };
let n = 0;
const nextEvent = () =>
  toEnvelope(
    webhook,
    'bench/load',
    { type: 'webhook.received', key: `ceiling-${n++}`, payload, headers },
    Date.now(),
  );

let counting = false;
let stop = false;
let jobs = 0;
async function caller(): Promise<void> {
  while (!stop) {
    const event = nextEvent();
    if (mode === 'add')
      await queue.add(event.type, event, {
        jobId: event.id,
        deduplication: { id: event.id, ttl: dedupeTtl },
      });
    else await producer.emit([event], undefined);
    if (counting) jobs++;
  }
}

async function redisCpuSec(client: RedisClient): Promise<number> {
  const info = String(await client.info('cpu'));
  const get = (k: string) => Number(info.match(new RegExp(`^${k}:([\\d.]+)`, 'm'))?.[1] ?? 0);
  return get('used_cpu_sys') + get('used_cpu_user');
}

const callers = Array.from({ length: inflight }, () => caller());
await new Promise((r) => setTimeout(r, warmupSec * 1000));
const cpu0 = process.cpuUsage();
const redis0 = await redisCpuSec(control);
const t0 = performance.now();
counting = true;
await new Promise((r) => setTimeout(r, seconds * 1000));
counting = false;
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const redisCpu = (await redisCpuSec(control)) - redis0;
stop = true;
await Promise.all(callers);
const made = await queue.count();
process.stdout.write(
  `CEILING_JSON ${JSON.stringify({
    mode,
    inflight,
    jobsPerSec: jobs / wall,
    cpuUsPerJob: (cpu.user + cpu.system) / jobs,
    redisUsPerJob: (redisCpu * 1e6) / jobs,
    jobsInQueue: made,
    calls: n,
  })}\n`,
);
await queues.close();
redis.disconnect();
control.disconnect();
