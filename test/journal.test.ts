import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/log.js';
import { Metrics } from '../src/metrics.js';
import type { RelayEvent } from '../src/queue/envelope.js';
import { Journal, journalKey, pumpGroup } from '../src/queue/journal.js';
import { Producer } from '../src/queue/producer.js';
import { Pump } from '../src/queue/pump.js';
import { PumpThread } from '../src/queue/pump-thread.js';
import { QueueSet } from '../src/queue/queues.js';
import { createRedis } from '../src/redis/connection.js';
import { redisUrl, startTestRelay, type TestRelay, uniquePrefix } from './support/relay.js';
import { startTcpProxy } from './support/tcp-proxy.js';
import { until } from './support/until.js';

const token = 'journal-token-0123456789';
const config = (journal: object = {}) => ({
  queue: { journal: { enabled: true, ...journal } },
  channels: { webhook: [{ group: 'ci', trigger: 'deploys', auth: { scheme: 'token', token } }] },
});
const headers = (id?: string) => ({
  'content-type': 'application/json',
  authorization: `Bearer ${token}`,
  ...(id ? { 'webhook-id': id } : {}),
});

const redis = new Redis(redisUrl);
const started: TestRelay[] = [];
async function relayWith(journal: object, prefix?: string) {
  const t = await startTestRelay(config(journal), prefix ? { prefix } : {});
  started.push(t);
  return t;
}
afterAll(async () => {
  for (const t of started.reverse()) await t.close().catch(() => t.relay.close());
  redis.disconnect();
});

/** What `Journal.emit` writes: the home queue and the request's CloudEvents. */
function entryFields(id: string) {
  const event = {
    specversion: '1.0',
    id,
    source: '/webhook/ci/deploys',
    type: 'webhook.received',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    channel: 'webhook',
    account: 'ci/deploys',
    receivedat: new Date().toISOString(),
    data: { payload: { n: 1 } },
  };
  return ['q', 'relay-events', 'e', JSON.stringify([event])];
}

describe.each(['thread', 'inline'] as const)('the ingest journal, pump: %s', (pump) => {
  const relay = (journal: object = {}, prefix?: string) => relayWith({ pump, ...journal }, prefix);

  it('answers 202 on the journal entry; the pump makes the job and empties the journal; lag is a metric', async () => {
    const t = await relay();
    const res = await t.post('/webhook/ci/deploys', '{"n":1}', headers());
    expect(res.status).toBe(202);
    const { ids } = (await res.json()) as { ids: string[] };
    const job = await until(() => t.queue().getJob(ids[0] as string));
    expect(job.data).toMatchObject({ id: ids[0], type: 'webhook.received', data: { payload: { n: 1 } } });
    await until(async () => (await redis.xlen(journalKey(t.prefix))) === 0);
    // The pump thread reports its counts every 500 ms.
    const metrics = await until(async () => {
      const text = await (await fetch(`${t.opsUrl}/metrics`)).text();
      return /relay_events_enqueued_total\{channel="webhook",type="webhook.received"\} 1/.test(text) && text;
    });
    expect(metrics).toMatch(/^relay_journal_backlog 0$/m);
    expect(metrics).toMatch(/^relay_journal_lag_seconds 0$/m);
  });

  it('a request journaled by a replica that died before making its job still becomes one job', async () => {
    const prefix = uniquePrefix('journal-crash');
    const key = journalKey(prefix);
    // Replica A journaled two requests and read them into its pending list, then died.
    await redis.xgroup('CREATE', key, pumpGroup, '0', 'MKSTREAM');
    await redis.xadd(key, '*', ...entryFields('webhook-crashed-1'));
    await redis.xreadgroup('GROUP', pumpGroup, 'dead-replica', 'COUNT', 10, 'STREAMS', key, '>');
    // One more it journaled but nobody had read yet.
    await redis.xadd(key, '*', ...entryFields('webhook-crashed-2'));
    const t = await relay({ claimIdleSec: 0.2 }, prefix);
    await until(() => t.queue().getJob('webhook-crashed-2'));
    await until(() => t.queue().getJob('webhook-crashed-1'));
    await until(async () => (await redis.xlen(key)) === 0);
    const pending = (await redis.xpending(key, pumpGroup)) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
  });

  it('an entry handled twice (redelivered after its job was made) makes no second job', async () => {
    const prefix = uniquePrefix('journal-dup');
    const t = await relay({ claimIdleSec: 0.2 }, prefix);
    const first = await t.post('/webhook/ci/deploys', '{"n":1}', headers('delivery-1'));
    expect(first.status).toBe(202);
    const { ids } = (await first.json()) as { ids: string[] };
    const id = ids[0] as string;
    await until(() => t.queue().getJob(id));
    // A dead replica had the same event's entry pending (it made the job, died before XACK);
    // the provider also redelivered it.
    const key = journalKey(prefix);
    await redis.xadd(key, '*', ...entryFields(id));
    await redis.xreadgroup('GROUP', pumpGroup, 'dead-replica', 'COUNT', 10, 'STREAMS', key, '>');
    expect((await t.post('/webhook/ci/deploys', '{"n":1}', headers('delivery-1'))).status).toBe(202);
    await until(async () => (await redis.xlen(key)) === 0);
    expect((await t.jobs()).map((j) => j.id)).toEqual([id]);
  });

  it('past maxBacklog entries not yet jobs it answers 503 + Retry-After, /readyz says the pump is stuck, and it recovers', async () => {
    const prefix = uniquePrefix('journal-backlog');
    // The queue's meta key of the wrong type: every job add fails, so the pump cannot progress.
    const meta = `${prefix}:relay-events:meta`;
    await redis.set(meta, 'not a hash');
    const t = await relay({ maxBacklog: 3 }, prefix);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await t.post('/webhook/ci/deploys', `{"n":${i}}`, headers());
      statuses.push(res.status);
      if (res.status === 503) {
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(await res.json()).toEqual({ error: 'temporarily unavailable, retry later' });
      }
    }
    expect(statuses).toEqual([202, 202, 202, 503, 503, 503]);
    expect(await redis.xlen(journalKey(prefix))).toBe(3);
    const readyz = await until(async () => {
      const res = await fetch(`${t.opsUrl}/readyz`);
      return res.status === 503 ? ((await res.json()) as { reasons: string[] }) : undefined;
    }, 20_000);
    expect(readyz.reasons.join('\n')).toMatch(/journal pump: no progress for \d+ s with 3 entries waiting/);

    await redis.del(meta);
    await until(async () => (await t.jobs()).length === 3);
    await until(async () => (await t.post('/webhook/ci/deploys', '{}', headers())).status === 202);
    // (The pump thread reports its progress every 500 ms.)
    await until(async () => (await fetch(`${t.opsUrl}/readyz`)).status === 200, 2000);
  }, 40_000);

  it('on close, the pump turns a standing backlog into jobs before the relay is gone', async () => {
    const prefix = uniquePrefix('journal-drain');
    const t = await relay({ batch: 10 }, prefix);
    const write = redis.pipeline();
    for (let i = 0; i < 500; i++) write.xadd(journalKey(prefix), '*', ...entryFields(`webhook-drain-${i}`));
    await write.exec();
    await t.relay.close();
    expect(await redis.xlen(journalKey(prefix))).toBe(0);
    expect((await t.jobs()).length).toBe(500);
    await t.close();
  });

  it('on close, every acknowledged request is a job before the relay is gone', async () => {
    const t = await startTestRelay(config({ pump }));
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 25; i++) {
          const res = await t.post('/webhook/ci/deploys', `{"i":${i}}`, headers());
          expect(res.status).toBe(202);
          ids.push(...((await res.json()) as { ids: string[] }).ids);
        }
      }),
    );
    await t.relay.close();
    const jobs = new Set((await t.jobs()).map((j) => j.id));
    expect(ids.filter((id) => !jobs.has(id))).toEqual([]);
    expect(await redis.xlen(journalKey(t.prefix))).toBe(0);
    await t.close();
  });
});

/** A journal and its pump thread on `prefix`, with the queue the thread fills. */
function pumpThreadBed(
  prefix: string,
  options: { log: ReturnType<typeof createLogger>; claimIdleMs: number; restartMs?: number },
) {
  const metrics = new Metrics();
  const parsed = parseConfig({ redis: { url: redisUrl, prefix }, channels: config().channels });
  const journalRedis = new Redis(redisUrl);
  const journal = new Journal(journalRedis, prefix, 1000, parsed.queue.name, metrics);
  const pump = new PumpThread({
    config: { redis: parsed.redis, queue: parsed.queue, routes: parsed.routes },
    journal,
    metrics,
    batch: 10,
    reportMs: 50,
    ...options,
  });
  const queue = new Queue(parsed.queue.name, { connection: redis, prefix });
  return { metrics, journal, journalRedis, pump, queue };
}

describe('the pump thread', () => {
  it('a pump thread that dies is replaced, and every journaled event still becomes one job', async () => {
    const prefix = uniquePrefix('journal-thread');
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(l) } });
    const { metrics, journal, journalRedis, pump, queue } = pumpThreadBed(prefix, {
      log,
      claimIdleMs: 200,
      restartMs: 50,
    });
    const event = (n: number) =>
      (JSON.parse(entryFields(`webhook-thread-${n}`)[3] as string) as RelayEvent[])[0] as RelayEvent;
    try {
      pump.start();
      await journal.emit([event(1)], undefined);
      await until(() => queue.getJob('webhook-thread-1'));
      // (Counts a thread made but had not reported yet die with it: wait for the report.)
      await until(async () =>
        /relay_events_enqueued_total\{[^}]*\} 1/.test(await metrics.registry.metrics()),
      );

      await pump.thread?.terminate();
      expect(pump.problem()).toMatch(/journal pump thread/);
      await journal.emit([event(2), event(3)], undefined);
      await until(async () => pump.restarts === 1 && pump.problem() === undefined);
      await until(() => queue.getJob('webhook-thread-3'));
      await until(async () => (await redis.xlen(journalKey(prefix))) === 0);
      expect((await queue.getJobs()).map((j) => j.id).sort()).toEqual([
        'webhook-thread-1',
        'webhook-thread-2',
        'webhook-thread-3',
      ]);
      expect(lines.join('')).toMatch(/journal pump thread exited; starting a new one/);
      await until(async () =>
        /relay_events_enqueued_total\{[^}]*\} 3/.test(await metrics.registry.metrics()),
      );
    } finally {
      await pump.stop(2000);
      await queue.close();
      journalRedis.disconnect();
    }
    expect(pump.thread).toBeUndefined();
  });

  it('a new thread reads at once what the one before it left pending, not after claimIdleMs', async () => {
    const prefix = uniquePrefix('journal-pending');
    const { journal, journalRedis, pump, queue } = pumpThreadBed(prefix, {
      log: createLogger({ level: 'silent' }),
      claimIdleMs: 60_000,
    });
    const event = JSON.parse(entryFields('webhook-pending-1')[3] as string) as RelayEvent[];
    try {
      // An entry a thread had read (pending under the pump's consumer name) when it died.
      const key = journalKey(prefix);
      await redis.xgroup('CREATE', key, pumpGroup, '0', 'MKSTREAM');
      await journal.emit(event, undefined);
      await redis.xreadgroup('GROUP', pumpGroup, pump.consumer, 'COUNT', 10, 'STREAMS', key, '>');
      pump.start();
      await until(() => queue.getJob('webhook-pending-1'), 5000, 'the pending entry made into a job');
    } finally {
      await pump.stop(2000);
      await queue.close();
      journalRedis.disconnect();
    }
  });
});

describe('the pump and a lost connection', () => {
  it('entries delivered by a read whose reply was lost become jobs at once, not after claimIdleMs', async () => {
    const prefix = uniquePrefix('journal-lost-reply');
    const id = `webhook-lost-reply-${randomUUID()}`;
    const proxy = await startTcpProxy(redisUrl, { loseReplyWith: id });
    const parsed = parseConfig({ redis: { url: redisUrl, prefix }, channels: config().channels });
    const pumpRedis = createRedis({ ...parsed.redis, url: proxy.url }, 'blocking', 'relay-pump');
    const jobsRedis = createRedis(parsed.redis, 'producer', 'relay-pump-jobs');
    const metrics = new Metrics();
    const journal = new Journal(redis, prefix, 1000, parsed.queue.name, metrics);
    const queues = new QueueSet(jobsRedis, parsed);
    const errors: string[] = [];
    const pump = new Pump({
      redis: pumpRedis,
      journal,
      producer: new Producer(queues, parsed, metrics),
      log: { info: () => {}, warn: () => {}, error: (_o, m) => errors.push(m) },
      batch: 10,
      claimIdleMs: 60_000,
    });
    const queue = new Queue(parsed.queue.name, { connection: redis, prefix });
    try {
      pumpRedis.on('error', () => {});
      pump.start();
      // The pump blocks on XREADGROUP '>': this entry is delivered to it (pending under its name),
      // but the reply is lost with the connection. ioredis resends the read once reconnected,
      // which only asks for entries after it.
      await until(async () => (await redis.exists(journalKey(prefix))) === 1);
      await journal.emit(JSON.parse(entryFields(id)[3] as string) as RelayEvent[], undefined);
      await until(() => proxy.lostReply, 5000, 'the reply lost');
      await until(() => queue.getJob(id), 5000, 'the delivered entry made into a job');
      await until(async () => (await redis.xlen(journalKey(prefix))) === 0, 5000, 'the journal emptied');
      expect(errors).toEqual([]);
    } finally {
      await pump.stop(2000);
      await queue.close();
      await queues.close();
      pumpRedis.disconnect();
      jobsRedis.disconnect();
      await proxy.close();
    }
  });
});
