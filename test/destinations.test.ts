import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayEvent } from '../src/queue/envelope.js';
import { FakeDestination, type Received } from './fakes/destination.js';
import { startTestRelay, type TestRelay } from './support/relay.js';
import { until } from './support/until.js';

const adminToken = 'admin-token-for-destinations';
const secret = `whsec_${randomBytes(24).toString('base64')}`;
const oldSecret = `whsec_${randomBytes(24).toString('base64')}`;
const agents = new FakeDestination();
const dead = new FakeDestination();
let a: TestRelay;
let b: TestRelay;

const headersOf = (r: Received) => r.headers as Record<string, string>;

beforeAll(async () => {
  await agents.start();
  await dead.start();
  const config = {
    admin: { token: adminToken },
    queue: { attempts: 2, backoffMs: 50 },
    channels: {
      webhook: [
        { group: 'shop', trigger: 'orders', auth: { scheme: 'none' } },
        { group: 'shop', trigger: 'refunds', auth: { scheme: 'none' } },
      ],
    },
    destinations: [
      {
        name: 'agents',
        url: agents.url,
        secret: [secret, oldSecret],
        match: { trigger: 'shop/orders' },
        timeoutMs: 2000,
        concurrency: 4,
      },
      { name: 'dead', url: dead.url, secret, match: { trigger: 'shop/refunds' }, timeoutMs: 2000 },
    ],
  };
  // Two replicas on one Redis prefix: both run delivery workers for both destinations.
  a = await startTestRelay(config);
  b = await startTestRelay(config, { prefix: a.prefix });
});
afterAll(async () => {
  await Promise.all([a.relay.close(), b.relay.close()]);
  await b.close();
  await a.close();
  await agents.stop();
  await dead.stop();
});

async function send(t: TestRelay, path: string, key: string, payload: object): Promise<string> {
  const res = await t.post(path, JSON.stringify(payload), {
    'content-type': 'application/json',
    'idempotency-key': key,
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { ids: string[] }).ids[0] as string;
}

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${a.opsUrl}/admin${path}`, {
    ...init,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
  });

describe('destinations: delivery across two replicas', () => {
  it('delivers every matching event exactly once, signed, as a structured CloudEvent', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++)
      ids.push(await send(i % 2 ? a : b, '/webhook/shop/orders', `order-${i}`, { order: i }));
    const queue = a.queue('agents');
    await until(async () => (await queue.getCompletedCount()) === 40, 20_000, '40 deliveries completed');
    // Nothing more arrives after they completed: no replica delivered one a second time.
    await new Promise((r) => setTimeout(r, 500));
    const posts = agents.posts;
    expect(posts).toHaveLength(40);
    expect(new Set(posts.map((p) => p.headers['webhook-id']))).toEqual(new Set(ids));

    for (const post of posts) {
      const h = headersOf(post);
      expect(h['content-type']).toBe('application/cloudevents+json');
      expect(h['user-agent']).toMatch(/^Relay\/\d+\.\d+\.\d+/);
      // Verified by the Standard Webhooks library, with each secret of the rotation list.
      const event = new Webhook(secret).verify(post.body, h) as RelayEvent;
      expect(new Webhook(oldSecret).verify(post.body, h)).toEqual(event);
      expect(h['webhook-signature']?.split(' ')).toHaveLength(2);
      expect(event).toMatchObject({ specversion: '1.0', id: h['webhook-id'], type: 'webhook.received' });
      expect(event.source).toBe('/webhook/shop/orders');
    }
    // The event in the destination's queue is the one in the main queue, not consumed from it.
    const first = ids[0] as string;
    expect((await a.queue().getJob(first))?.data.id).toBe(first);
    expect(await (await a.queue().getJob(first))?.getState()).toBe('waiting');
  });

  it('signatures fail verification with another secret or a changed byte', () => {
    const post = agents.posts[0] as Received;
    const h = headersOf(post);
    const other = new Webhook(`whsec_${randomBytes(24).toString('base64')}`);
    expect(() => other.verify(post.body, h)).toThrow();
    const tampered = post.body.replace('"order":0', '"order":9').replace('"order":1', '"order":9');
    expect(tampered).not.toBe(post.body);
    expect(() => new Webhook(secret).verify(tampered, h)).toThrow();
    expect(() => new Webhook(secret).verify(post.body, { ...h, 'webhook-id': 'another' })).toThrow();
  });

  it('counts deliveries and shows the destination queue on /metrics', async () => {
    const text = async (t: TestRelay) => (await fetch(`${t.opsUrl}/metrics`)).text();
    const delivered = (body: string) =>
      Number(/relay_deliveries_total\{destination="agents",outcome="delivered"\} (\d+)/.exec(body)?.[1] ?? 0);
    const [ma, mb] = await Promise.all([text(a), text(b)]);
    expect(delivered(ma) + delivered(mb)).toBe(40);
    // Either replica may have made every delivery: the histogram is on whichever did.
    expect(`${ma}\n${mb}`).toMatch(/relay_delivery_seconds_count\{destination="agents"\} \d+/);
    expect(ma).toContain('relay_queue_jobs{queue="agents",state="completed"} 40');
  });

  it('fails for good after the attempts, with status and a short secret-free excerpt; replay delivers it', async () => {
    dead.reply = () => ({
      status: 500,
      headers: { 'content-type': 'text/plain' },
      body: `upstream broke\n\n(secret ${secret}) ${'x'.repeat(500)}`,
    });
    const id = await send(a, '/webhook/shop/refunds', 'refund-1', { refund: 1 });
    const job = await until(async () => {
      const j = await a.queue('dead').getJob(id);
      return (await j?.getState()) === 'failed' && j;
    });
    expect(dead.posts).toHaveLength(2);
    expect(job.attemptsMade).toBe(2);
    expect(job.failedReason).toMatch(/^HTTP 500: upstream broke \(secret \[redacted\]\) x+…$/);
    expect(job.failedReason.length).toBeLessThanOrEqual('HTTP 500: '.length + 200);
    expect(job.failedReason).not.toContain(secret.slice(6));

    // /admin/destinations (any replica: the state is in Redis) shows the error and the failed job.
    expect((await fetch(`${b.opsUrl}/admin/destinations`)).status).toBe(401);
    const res = await fetch(`${b.opsUrl}/admin/destinations`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const { destinations } = (await res.json()) as { destinations: Array<Record<string, unknown>> };
    expect(destinations.find((d) => d.name === 'dead')).toMatchObject({
      lastErrorEvent: id,
      lastError: expect.stringMatching(/^HTTP 500: upstream broke/),
      backlog: 0,
      failed: 1,
    });
    expect(destinations.find((d) => d.name === 'agents')).toMatchObject({
      lastSuccessAt: expect.any(String),
      lastError: null,
      backlog: 0,
    });
    expect(JSON.stringify(destinations)).not.toContain(secret.slice(6));

    // Replayed like any failed event: `relay events replay --state failed` selects it in the destination's queue.
    dead.reply = () => ({ status: 204 });
    const replay = await admin('/replay', { method: 'POST', body: JSON.stringify({ state: 'failed' }) });
    expect(await replay.json()).toMatchObject({
      count: 1,
      replayed: [{ id, queue: 'dead', action: 'retried' }],
    });
    await until(async () => (await (await a.queue('dead').getJob(id))?.getState()) === 'completed');
    expect(dead.posts).toHaveLength(3);
    expect(dead.posts[2]?.headers['webhook-id']).toBe(id);
  });
});

describe('destinations: the payload as stored', () => {
  it("delivers an integer past 2^53 with every digit (Shopify's own example id)", async () => {
    const res = await a.post('/webhook/shop/orders', '{"id":820982911946154508}', {
      'content-type': 'application/json',
      'idempotency-key': 'exact-order',
    });
    expect(res.status).toBe(202);
    const [id] = ((await res.json()) as { ids: string[] }).ids;
    const post = await until(() => agents.posts.find((p) => p.headers['webhook-id'] === id), 20_000);
    // Node 22 keeps the digits in the payload; Node 20 adds the exact body text as data.raw.
    expect(post.body).toContain('820982911946154508');
    if ('rawJSON' in JSON) expect(post.body).toContain('"payload":{"id":820982911946154508}');
    else expect(JSON.parse(post.body).data.raw).toBe('{"id":820982911946154508}');
    expect(() => new Webhook(secret).verify(post.body, headersOf(post))).not.toThrow();
  });
});
