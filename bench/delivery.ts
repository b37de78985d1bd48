/**
 * Delivery round: how fast the relay drains a destination queue into a local sink that answers 200,
 * against BullMQ alone (a Worker whose processor does nothing) draining the same jobs, in one run.
 * Events are queued first (not measured); then each side drains its own queue and we measure wall
 * time, this process's CPU and Redis's CPU per job. The sink runs in a child process so its CPU is
 * not counted as the relay's.
 *
 *   node dist/bench/delivery.js            (npm run bench:delivery builds first)
 *
 * env: REDIS_URL, DELIVERY_EVENTS (default 5000), DELIVERY_CONCURRENCY (default 16),
 * DELIVERY_BODY (the JSON payload). Prints a summary and one line `DELIVERY_JSON {...}`.
 * A benchmark, not a test: it asserts nothing but that every job completed.
 */
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

if (process.argv[2] === '--sink') {
  const sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-length': '0' }).end());
  });
  sink.keepAliveTimeout = 60_000;
  sink.listen(0, '127.0.0.1', () => process.send?.((sink.address() as AddressInfo).port));
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}

async function main(): Promise<void> {
  const env = process.env;
  const events = Number(env.DELIVERY_EVENTS ?? 5000);
  const concurrency = Number(env.DELIVERY_CONCURRENCY ?? 16);
  const [
    { Worker },
    { webhook },
    { parseConfig },
    { toEnvelope },
    { QueueSet },
    { createRedis, waitForReady },
    { Metrics },
    { DeliveryWorkers },
    { DeliveryState },
    { createLogger },
  ] = await Promise.all([
    import('bullmq'),
    import('../channels/webhook/index.js'),
    import('../src/config/load.js'),
    import('../src/queue/envelope.js'),
    import('../src/queue/queues.js'),
    import('../src/redis/connection.js'),
    import('../src/metrics.js'),
    import('../src/destinations/workers.js'),
    import('../src/destinations/state.js'),
    import('../src/log.js'),
  ]);

  const child = fork(new URL(import.meta.url).pathname, ['--sink'], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(Number(m))));

  const prefix = `bench-delivery-${randomUUID().slice(0, 8)}`;
  const config = parseConfig({
    redis: { url: env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix },
    destinations: [
      {
        name: 'sink',
        url: `http://127.0.0.1:${port}/hook`,
        secret: `whsec_${randomBytes(24).toString('base64')}`,
        concurrency,
      },
    ],
  });
  const redis = createRedis(config.redis, 'control', 'bench-delivery');
  await waitForReady(redis, 5000);
  const queues = new QueueSet(redis, config);
  const payload = JSON.parse(env.DELIVERY_BODY ?? '{"order":{"id":1,"total":"12.50","items":[1,2,3]}}');
  const headers = { 'content-type': 'application/json' };

  async function fill(queue: string): Promise<void> {
    for (let i = 0; i < events; i += 500) {
      const batch = Array.from({ length: Math.min(500, events - i) }, (_, k) => {
        const e = toEnvelope(
          webhook,
          'bench/load',
          { type: 'webhook.received', key: `${queue}-${i + k}`, payload, headers },
          Date.now(),
        );
        return { name: e.type, data: e, opts: { jobId: e.id } };
      });
      await queues.get(queue).addBulk(batch);
    }
  }

  async function redisCpuSec(): Promise<number> {
    const info = String(await redis.info('cpu'));
    const get = (k: string) => Number(info.match(new RegExp(`^${k}:([\\d.]+)`, 'm'))?.[1] ?? 0);
    return get('used_cpu_sys') + get('used_cpu_user');
  }

  /** Starts the consumer, waits until every job completed, and measures. */
  async function drain(queue: string, start: () => { close(): Promise<void> }) {
    const cpu0 = process.cpuUsage();
    const redis0 = await redisCpuSec();
    const t0 = performance.now();
    const consumer = start();
    while ((await queues.get(queue).getCompletedCount()) < events)
      await new Promise((r) => setTimeout(r, 25));
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const redisCpu = (await redisCpuSec()) - redis0;
    await consumer.close();
    return {
      perSec: events / wall,
      cpuUsPerJob: (cpu.user + cpu.system) / events,
      redisUsPerJob: (redisCpu * 1e6) / events,
    };
  }

  await fill('alone');
  await fill('sink');
  const blocking = createRedis(config.redis, 'blocking', 'bench-delivery-worker');
  const alone = await drain(
    'alone',
    () => new Worker('alone', async () => {}, { connection: blocking, prefix, concurrency }),
  );
  const metrics = new Metrics();
  const delivery = await drain('sink', () => {
    const w = new DeliveryWorkers({
      config,
      log: createLogger({ level: 'warn' }),
      metrics,
      state: new DeliveryState(redis, prefix),
      now: Date.now,
    });
    w.start();
    return { close: () => w.close(5000) };
  });

  const f0 = (n: number) => n.toFixed(0);
  process.stdout.write(
    `delivery round: ${events} events queued, concurrency ${concurrency}, sink answers 200 (another process)\n` +
      `  BullMQ alone (no-op processor): ${f0(alone.perSec)} jobs/s, ${f0(alone.cpuUsPerJob)} µs CPU + ${f0(alone.redisUsPerJob)} µs Redis per job\n` +
      `  relay delivery (signed POST):   ${f0(delivery.perSec)} deliveries/s, ${f0(delivery.cpuUsPerJob)} µs CPU + ${f0(delivery.redisUsPerJob)} µs Redis per delivery\n` +
      `  delivery/BullMQ alone: ${(delivery.perSec / alone.perSec).toFixed(2)}× the rate, +${f0(delivery.cpuUsPerJob - alone.cpuUsPerJob)} µs CPU per event for HTTP and signing\n`,
  );
  process.stdout.write(`DELIVERY_JSON ${JSON.stringify({ events, concurrency, alone, delivery })}\n`);

  for (const name of ['alone', 'sink']) await queues.get(name).obliterate({ force: true });
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await queues.close();
  await blocking.quit();
  await redis.quit();
  child.disconnect();
}
