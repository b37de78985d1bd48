import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { describeQueueBytes, measureQueue } from '../src/queue/sizing.js';
import { redisUrl, startTestRelay, type TestRelay } from './support/relay.js';
import { until } from './support/until.js';

const token = 'sizing-token-0123456789';
const redis = new Redis(redisUrl);
const started: TestRelay[] = [];
afterAll(async () => {
  for (const t of started) await t.close();
  redis.disconnect();
});

/** A 0.76 KB order-like JSON body, distinct per n (docs/operations.md, "Sizing"). */
function sizingBody(n: number): string {
  const item = (i: number) => ({
    id: 1000 + i,
    sku: `SKU-${n}-${i}`,
    title: 'Blue widget, large',
    qty: 1 + i,
    price: '19.90',
  });
  const body = {
    id: `order-${n}`,
    email: 'customer@example.com',
    created_at: '2026-11-21T10:00:00Z',
    currency: 'EUR',
    total_price: '59.70',
    customer: { id: 42, first_name: 'Ada', last_name: 'Lovelace', tags: 'vip,newsletter' },
    shipping_address: { address1: '1 Main Street', city: 'Dublin', zip: 'D01', country: 'IE' },
    line_items: [item(0), item(1), item(2)],
    note: 'Leave at the door, please.',
  };
  const text = JSON.stringify(body);
  return text + ' '.repeat(Math.max(0, 778 - text.length));
}

async function relay(queue: object = {}): Promise<TestRelay> {
  const t = await startTestRelay({
    queue,
    channels: { webhook: [{ group: 'shop', trigger: 'orders', auth: { scheme: 'token', token } }] },
  });
  started.push(t);
  return t;
}

async function postOrders(t: TestRelay, n: number, keyed: boolean): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await t.post('/webhook/shop/orders', sizingBody(i), {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'user-agent': 'Shopify-Captain-Hook',
      ...(keyed ? { 'idempotency-key': `order-${i}` } : {}),
    });
    expect(res.status).toBe(202);
  }
}

/** A worker that completes every job, as a consumer would; resolves once `n` are completed. */
async function completeAll(t: TestRelay, n: number): Promise<void> {
  const connection = redis.duplicate({ maxRetriesPerRequest: null });
  const worker = new Worker('relay-events', async () => undefined, { connection, prefix: t.prefix });
  try {
    await until(async () => (await t.queue().getCompletedCount()) >= n, 30_000);
  } finally {
    await worker.close();
    connection.disconnect();
  }
}

describe('Redis bytes per retained event (issue 11; docs/operations.md, "Sizing")', () => {
  it.each([
    ['with an Idempotency-Key', true],
    ['without a key', false],
  ])('a 0.76 KB generic event, completed and retained: %s', async (name, keyed) => {
    const t = await relay();
    const n = 200;
    await postOrders(t, n, keyed);
    await completeAll(t, n);
    const m = await measureQueue(redis, t.prefix, 'relay-events');
    console.log(`sizing, ${name}: ${describeQueueBytes(m)}`, JSON.stringify(m));
    expect(m.jobs).toBe(n);
    // A keyless event's dedupe key lives one retry window, not the event's retention.
    expect(m.dedupeKeys).toBe(keyed ? n : 0);
    expect(m.bytesPerEvent).toBeLessThan(keyed ? 3200 : 3000);
  });
});

describe('queue.keepCompletedCount', () => {
  it('keeps at most that many completed jobs, beside the age', async () => {
    const t = await relay({ keepCompletedCount: 3 });
    await postOrders(t, 6, true);
    const connection = redis.duplicate({ maxRetriesPerRequest: null });
    const worker = new Worker('relay-events', async () => undefined, { connection, prefix: t.prefix });
    try {
      await until(async () => (await t.queue().getJobCounts('wait', 'active')).wait === 0);
      await until(async () => (await t.queue().getJobCounts('active')).active === 0);
    } finally {
      await worker.close();
      connection.disconnect();
    }
    expect(await t.queue().getCompletedCount()).toBe(3);
    const job = await t.queue().getJob((await t.queue().getCompleted())[0]?.id as string);
    expect(job?.opts.removeOnComplete).toEqual({ age: 168 * 3600, count: 3 });
  });
});
