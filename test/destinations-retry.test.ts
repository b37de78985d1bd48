import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDestination, type Received } from './fakes/destination.js';
import { startTestRelay, type TestRelay } from './support/relay.js';
import { until } from './support/until.js';

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const flaky = new FakeDestination();
const later = new FakeDestination();
const down = new FakeDestination();
const slow = new FakeDestination();
let t: TestRelay;

const triggers = ['flaky', 'later', 'down', 'slow'];

beforeAll(async () => {
  for (const d of [flaky, later, down, slow]) await d.start();
  t = await startTestRelay({
    // 100 ms doubling over 8 attempts: about 12 s before a delivery fails for good.
    queue: { attempts: 8, backoffMs: 100 },
    channels: { webhook: triggers.map((trigger) => ({ group: 't', trigger, auth: { scheme: 'none' } })) },
    destinations: [
      { name: 'flaky', url: flaky.url, secret, match: { trigger: 't/flaky' } },
      { name: 'later', url: later.url, secret, match: { trigger: 't/later' } },
      { name: 'down', url: down.url, secret, match: { trigger: 't/down' }, concurrency: 2 },
      { name: 'slow', url: slow.url, secret, match: { trigger: 't/slow' }, timeoutMs: 300 },
    ],
  });
});
afterAll(async () => {
  await t.close();
  for (const d of [flaky, later, down, slow]) await d.stop();
});

async function send(trigger: string, key: string): Promise<string> {
  const res = await t.post(`/webhook/t/${trigger}`, JSON.stringify({ key }), {
    'content-type': 'application/json',
    'idempotency-key': key,
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { ids: string[] }).ids[0] as string;
}

const completed = (queue: string, id: string) =>
  until(
    async () => (await (await t.queue(queue).getJob(id))?.getState()) === 'completed',
    20_000,
    `${id} delivered`,
  );

/** Each attempt is signed afresh and verifies with the Standard Webhooks library. */
const verified = (r: Received) => new Webhook(secret).verify(r.body, r.headers as Record<string, string>);

describe('destinations: retries', () => {
  it('retries a 500 and a reset connection, then completes on the 200', async () => {
    let n = 0;
    flaky.reply = () => {
      n++;
      if (n === 1) return { status: 500, body: 'try again' };
      if (n === 2) return 'reset';
      return { status: 200 };
    };
    const id = await send('flaky', 'f1');
    await completed('flaky', id);
    expect(flaky.posts.map((p) => p.headers['webhook-id'])).toEqual([id, id, id]);
    for (const p of flaky.posts) expect(verified(p)).toMatchObject({ id });
    expect((await t.queue('flaky').getJob(id))?.attemptsMade).toBe(3);
  });

  it('honours Retry-After: the next attempt waits that long, not the 100 ms backoff', async () => {
    let n = 0;
    later.reply = () => (++n === 1 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 });
    const id = await send('later', 'l1');
    await completed('later', id);
    const [first, second] = later.posts;
    expect(later.posts).toHaveLength(2);
    const gap = (second?.at ?? 0) - (first?.at ?? 0);
    expect(gap).toBeGreaterThanOrEqual(1950);
    expect(gap).toBeLessThan(5000);
  });

  it('loses nothing while a destination is down for a few seconds', async () => {
    await down.stop();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await send('down', `d${i}`));
    // Meanwhile ingest answers at once and another destination is delivered to as usual.
    flaky.reply = () => ({ status: 200 });
    const started = Date.now();
    const other = await send('flaky', 'while-down');
    expect(Date.now() - started).toBeLessThan(1000);
    await completed('flaky', other);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await t.queue('down').getCompletedCount()).toBe(0);
    await down.start();
    await until(async () => (await t.queue('down').getCompletedCount()) === 10, 20_000, 'all delivered');
    expect(new Set(down.posts.map((p) => p.headers['webhook-id']))).toEqual(new Set(ids));
    expect(await t.queue('down').getFailedCount()).toBe(0);
  });

  it('retries a destination that does not answer within timeoutMs', async () => {
    let n = 0;
    slow.reply = () => (++n === 1 ? 'hang' : { status: 200 });
    const id = await send('slow', 's1');
    await completed('slow', id);
    expect(slow.posts.map((p) => p.headers['webhook-id'])).toEqual([id, id]);
    const state = await t.relay.redis.hgetall(`${t.prefix}:relay:destination:slow`);
    expect(state.lastError).toBe('no answer within 300 ms');
    expect(state.lastErrorEvent).toBe(id);
  });

  it('does not follow redirects', async () => {
    let n = 0;
    flaky.reply = () => (++n === 1 ? { status: 307, headers: { location: later.url } } : { status: 200 });
    const before = later.posts.length;
    const id = await send('flaky', 'f-redirect');
    await completed('flaky', id);
    expect(later.posts.length).toBe(before);
    expect(flaky.posts.filter((p) => p.headers['webhook-id'] === id)).toHaveLength(2);
  });
});

describe('destinations: with the ingest journal', () => {
  it('the pump thread feeds destination queues, with the delivery backoff', async () => {
    const sink = await new FakeDestination().start();
    const j = await startTestRelay({
      queue: { journal: { enabled: true, pump: 'thread' } },
      channels: { webhook: [{ group: 'j', trigger: 'x', auth: { scheme: 'none' } }] },
      destinations: [{ name: 'sink', url: sink.url, secret }],
    });
    try {
      const res = await j.post('/webhook/j/x', '{"n":1}', {
        'content-type': 'application/json',
        'idempotency-key': 'j1',
      });
      const id = ((await res.json()) as { ids: string[] }).ids[0] as string;
      await until(() => sink.posts.length === 1, 20_000, 'delivered');
      expect(sink.posts[0]?.headers['webhook-id']).toBe(id);
      expect((await j.queue('sink').getJob(id))?.opts.backoff).toEqual({
        type: 'relay-delivery',
        delay: 1000,
      });
    } finally {
      await j.close();
      await sink.stop();
    }
  });
});

describe('destinations: a replica stopping mid-delivery', () => {
  it('cuts the delivery short at shutdown, and the other replica delivers the event', async () => {
    const sink = await new FakeDestination().start();
    let n = 0;
    sink.reply = () => (++n === 1 ? 'hang' : { status: 200 });
    const config = {
      server: { shutdownTimeoutMs: 500 },
      queue: { backoffMs: 200 },
      channels: { webhook: [{ group: 'g', trigger: 't', auth: { scheme: 'none' } }] },
      destinations: [{ name: 'sink', url: sink.url, secret, timeoutMs: 60_000 }],
    };
    // Only `a` runs when the event comes, so `a` holds the hanging delivery.
    const a = await startTestRelay(config);
    let c: TestRelay | undefined;
    try {
      const res = await a.post('/webhook/g/t', '{"n":1}', {
        'content-type': 'application/json',
        'idempotency-key': 'stop-1',
      });
      const id = ((await res.json()) as { ids: string[] }).ids[0] as string;
      await until(() => sink.posts.length === 1, 20_000, 'first delivery attempt');

      c = await startTestRelay(config, { prefix: a.prefix });
      const started = Date.now();
      await a.relay.close();
      expect(Date.now() - started).toBeLessThan(5000);
      const other = c;
      await until(
        async () => (await (await other.queue('sink').getJob(id))?.getState()) === 'completed',
        20_000,
        'delivered by the other replica',
      );
      expect(sink.posts.map((p) => p.headers['webhook-id'])).toEqual([id, id]);
      const job = await c.queue('sink').getJob(id);
      expect(job?.attemptsMade).toBe(2);
      expect(job?.failedReason).toBe('cut short: the relay stopped before an answer');
    } finally {
      await c?.relay.close();
      await c?.close();
      await a.close();
      await sink.stop();
    }
  });
});
