import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayEvent } from '../src/queue/envelope.js';
import { redisUrl, startTestRelay, type TestRelay } from './support/relay.js';

let t: TestRelay;
beforeAll(async () => {
  t = await startTestRelay({
    queue: { attempts: 1 },
    channels: { webhook: [{ group: 'shop', trigger: 'orders', auth: { scheme: 'none' } }] },
    routes: [
      { match: { trigger: 'shop/orders' }, queues: ['billing', 'analytics'] },
      { match: { channel: 'slack' }, queues: ['never'] },
    ],
  });
});
afterAll(() => t.close());

const send = async (key: string, body: object) => {
  const res = await t.post('/webhook/shop/orders', JSON.stringify(body), {
    'content-type': 'application/json',
    'idempotency-key': key,
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { ids: string[] }).ids[0] as string;
};

describe('routes: fan-out', () => {
  it('gives each matching queue its own copy, and none to a queue whose rule does not match', async () => {
    const id = await send('order-1', { order: 1 });
    for (const q of ['relay-events', 'billing', 'analytics'])
      expect((await t.queue(q).getJob(id))?.data.data.payload).toEqual({ order: 1 });
    expect(await t.jobs('never')).toEqual([]);
  });

  it('holds dedupe per queue: a redelivery makes no new job in any queue, even after one copy was consumed', async () => {
    const id = await send('order-2', { order: 2 });
    // A consumer of `billing` processes its copy; the other queues' copies are untouched by it.
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const seen: string[] = [];
    const worker = new Worker<RelayEvent>(
      'billing',
      async (job) => {
        seen.push(job.id as string);
      },
      { connection, prefix: t.prefix },
    );
    try {
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && !(await t.queue('billing').getJob(id))?.finishedOn)
        await new Promise((r) => setTimeout(r, 25));
      expect(await (await t.queue('billing').getJob(id))?.getState()).toBe('completed');
      expect(await (await t.queue('analytics').getJob(id))?.getState()).toBe('waiting');
      expect(await (await t.queue().getJob(id))?.getState()).toBe('waiting');

      expect(await send('order-2', { order: 2 })).toBe(id);
      for (const q of ['relay-events', 'billing', 'analytics'])
        expect((await t.jobs(q)).filter((e) => e.id === id)).toHaveLength(1);
      expect(seen.filter((s) => s === id)).toEqual([id]);
    } finally {
      await worker.close();
      await connection.quit();
    }
  });

  it('a new key is a new event in every queue', async () => {
    const a = await send('order-3', { order: 3 });
    const b = await send('order-4', { order: 3 });
    expect(b).not.toBe(a);
    for (const q of ['relay-events', 'billing', 'analytics']) {
      const ids = (await t.jobs(q)).map((e) => e.id);
      expect(ids).toContain(a);
      expect(ids).toContain(b);
    }
  });
});
