import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayEvent } from '../src/queue/envelope.js';
import { redisUrl, startTestRelay, type TestRelay } from './support/relay.js';
import { until } from './support/until.js';

const adminToken = 'admin-token-for-tests-0001';
let t: TestRelay;
let worker: Worker<RelayEvent>;
let workerRedis: Redis;

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${t.opsUrl}/admin${path}`, {
    ...init,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', ...init.headers },
  });

async function send(payload: object): Promise<string> {
  const res = await t.post('/webhook/open/ping', JSON.stringify(payload), {
    'content-type': 'application/json',
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { ids: string[] }).ids[0] as string;
}

beforeAll(async () => {
  t = await startTestRelay({
    admin: { token: adminToken },
    queue: { attempts: 1 },
    channels: { webhook: [{ group: 'open', trigger: 'ping', auth: { scheme: 'none' } }] },
  });
  workerRedis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  worker = new Worker<RelayEvent>(
    'relay-events',
    async (job) => {
      if ((job.data.data.payload as { fail?: boolean }).fail) throw new Error('worker says no');
    },
    { connection: workerRedis, prefix: t.prefix },
  );
});
afterAll(async () => {
  await worker.close();
  await t.close();
});

describe('probes and metrics', () => {
  it('healthz and readyz answer 200 with Redis up', async () => {
    expect((await fetch(`${t.opsUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.opsUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
  });

  it('exports the contract series', async () => {
    await send({ metric: true });
    const text = await (await fetch(`${t.opsUrl}/metrics`)).text();
    expect(text).toMatch(/relay_requests_total\{channel="webhook",outcome="accepted"\} \d+/);
    expect(text).toMatch(/relay_events_enqueued_total\{channel="webhook",type="webhook.received"\} \d+/);
    expect(text).toContain('relay_enqueue_seconds_bucket');
    expect(text).toContain('# TYPE relay_loop_up gauge');
    expect(text).toMatch(/relay_queue_jobs\{queue="relay-events",state="\w+"\} \d+/);
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('keeps the ops routes off the public port', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/admin/events'])
      expect((await fetch(t.url + path)).status).toBe(404);
  });
});

describe('admin API', () => {
  it('needs the bearer token', async () => {
    expect((await fetch(`${t.opsUrl}/admin/events`)).status).toBe(401);
    expect(
      (await fetch(`${t.opsUrl}/admin/events`, { headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    expect((await admin('/events')).status).toBe(200);
  });

  it('lists, filters and shows events', async () => {
    const id = await send({ hello: 'list' });
    const list = (await (await admin('/events?channel=webhook&since=1h&limit=100')).json()) as {
      events: Array<{ id: string }>;
    };
    expect(list.events.map((e) => e.id)).toContain(id);
    const none = (await (await admin('/events?channel=slack')).json()) as { events: unknown[] };
    expect(none.events).toEqual([]);
    const shown = (await (await admin(`/events/${id}`)).json()) as {
      events: Array<{ event: RelayEvent; state: string }>;
    };
    expect(shown.events[0]?.event.data.payload).toEqual({ hello: 'list' });
    expect((await admin('/events/nope')).status).toBe(404);
    expect((await admin('/events?since=yesterday')).status).toBe(400);
    expect((await admin('/events?state=bogus')).status).toBe(400);
  });

  it('replays a completed event as a copy with a new id and replayof', async () => {
    const id = await send({ replay: 'completed' });
    await until(async () => (await t.queue().getJob(id))?.finishedOn);
    const res = await admin(`/events/${id}/replay`, { method: 'POST' });
    expect(res.status).toBe(200);
    const { replayed } = (await res.json()) as { replayed: Array<{ action: string; newId: string }> };
    expect(replayed[0]?.action).toBe('copied');
    const copy = await t.queue().getJob(replayed[0]?.newId as string);
    expect(copy?.data).toMatchObject({
      replayof: id,
      type: 'webhook.received',
      data: { payload: { replay: 'completed' } },
    });
    expect(copy?.data.id).not.toBe(id);
    expect(await (await t.queue().getJob(id))?.getState()).toBe('completed');
  });

  it('retries a failed event in place', async () => {
    const id = await send({ fail: true });
    await until(async () => (await (await t.queue().getJob(id))?.getState()) === 'failed');
    const failed = (await (await admin('/events?state=failed')).json()) as {
      events: Array<{ id: string; failedReason: string }>;
    };
    expect(failed.events.find((e) => e.id === id)?.failedReason).toBe('worker says no');
    const res = await admin(`/events/${id}/replay`, { method: 'POST' });
    expect(((await res.json()) as { replayed: Array<{ action: string }> }).replayed[0]?.action).toBe(
      'retried',
    );
    const job = await until(async () => {
      const j = await t.queue().getJob(id);
      return j && j.attemptsMade >= 2 ? j : undefined;
    });
    expect(job.id).toBe(id);
  });

  it('bulk replay by filter: dry run counts, then replays', async () => {
    const dry = (await (
      await admin('/replay', { method: 'POST', body: JSON.stringify({ state: 'failed', dryRun: true }) })
    ).json()) as {
      count: number;
    };
    expect(dry.count).toBeGreaterThanOrEqual(1);
    expect((await admin('/replay', { method: 'POST', body: JSON.stringify({ state: 'nope' }) })).status).toBe(
      400,
    );
  });

  it('lists rejections and channels', async () => {
    await t.post('/webhook/open/nope', '{}', { 'content-type': 'application/json' });
    const { rejections } = (await (await admin('/rejections?since=10m')).json()) as {
      rejections: Array<{ reason: string; account: string }>;
    };
    expect(rejections[0]).toMatchObject({ reason: 'unknown_account', account: 'open/nope' });
    const { channels } = (await (await admin('/channels')).json()) as {
      channels: Array<{ channel: string; account: string; routes: string[] }>;
    };
    expect(channels).toContainEqual(
      expect.objectContaining({
        channel: 'webhook',
        account: 'open/ping',
        routes: ['GET|POST|PUT /webhook/{group}/{trigger}'],
      }),
    );
  });
});

describe('admin API without a token', () => {
  it('answers 404', async () => {
    const bare = await startTestRelay({
      channels: { webhook: [{ group: 'a', trigger: 'b', auth: { scheme: 'none' } }] },
    });
    try {
      expect((await fetch(`${bare.opsUrl}/admin/events`)).status).toBe(404);
      expect(
        (await fetch(`${bare.opsUrl}/admin/events`, { headers: { authorization: 'Bearer x' } })).status,
      ).toBe(404);
    } finally {
      await bare.close();
    }
  });
});
