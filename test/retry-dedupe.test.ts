import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedupeOf, retryWindowMs } from '../src/queue/envelope.js';
import { TestRedisServer } from './support/redis-server.js';
import { startTestRelay, type TestRelay } from './support/relay.js';
import { until } from './support/until.js';

/**
 * Issue 11, item 7: a request answered 503 because Redis was slow past 2 s may still land; the
 * sender's retry of the same bytes must not make a second job, even without an Idempotency-Key.
 * Redis is slowed with `CLIENT PAUSE 3000 WRITE` from another connection (a private redis-server).
 */

let redis: TestRedisServer;
let admin: Redis;
const started: TestRelay[] = [];
beforeAll(async () => {
  redis = await TestRedisServer.start();
  admin = new Redis(redis.url);
});
afterAll(async () => {
  for (const t of started) await t.close().catch(() => {});
  admin.disconnect();
  await redis.stop();
});

async function relay(options: { journal?: boolean; now?: () => number } = {}): Promise<TestRelay> {
  const t = await startTestRelay(
    {
      ...(options.journal ? { queue: { journal: { enabled: true, pump: 'inline' } } } : {}),
      channels: { webhook: [{ group: 'ci', trigger: 'deploys', auth: { scheme: 'none' } }] },
    },
    { env: { REDIS_URL: redis.url }, ...(options.now ? { now: options.now } : {}) },
  );
  started.push(t);
  return t;
}

const post = (t: TestRelay, body: string) =>
  t.post('/webhook/ci/deploys', body, { 'content-type': 'application/json' });

describe.each([
  ['jobs made directly', false],
  ['through the journal', true],
])('a keyless generic event retried after a 503: %s', (_name, journal) => {
  it('first attempt 503 (Redis slow past 2 s), the retry 202, exactly one job', async () => {
    const t = await relay({ journal });
    const body = JSON.stringify({ deploy: 'api', sha: `abc-${journal}` });
    await admin.call('CLIENT', 'PAUSE', '3000', 'WRITE');
    const first = await post(t, body);
    expect(first.status).toBe(503);
    // The paused write lands once Redis resumes: the event is in Redis although the sender was told 503.
    await until(async () => (await t.jobs()).length === 1, 10_000, 'the late job');
    const retry = await post(t, body);
    expect(retry.status).toBe(202);
    const { ids } = (await retry.json()) as { ids: string[] };
    await new Promise((r) => setTimeout(r, 300)); // the pump's turn, on the journal path
    const jobs = await t.jobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.id).toBe(ids[0]);
    // Other bytes are another event.
    expect((await post(t, JSON.stringify({ deploy: 'web' }))).status).toBe(202);
    await until(async () => (await t.jobs()).length === 2);
  });
});

describe('the retry window', () => {
  it('absorbs a retry across a window boundary; the same bytes after the window are a new event', async () => {
    // Just before a window boundary, so the retry falls in the next window.
    let now = (Math.floor(Date.now() / retryWindowMs) + 1) * retryWindowMs - 1000;
    const t = await relay({ now: () => now });
    const body = '{"heartbeat":true}';
    expect((await post(t, body)).status).toBe(202);
    now += 5000;
    expect((await post(t, body)).status).toBe(202);
    expect(await t.jobs()).toHaveLength(1);
    // The dedupe key lives one window in Redis' clock: end it the way time would.
    const [dedupe] = await admin.keys(`${t.prefix}:relay-events:de:*`);
    expect(await admin.pttl(dedupe as string)).toBeGreaterThan(retryWindowMs - 60_000);
    await admin.del(dedupe as string);
    now += retryWindowMs;
    expect((await post(t, body)).status).toBe(202);
    expect(await t.jobs()).toHaveLength(2);
  });

  it('gives a fresh random id no dedupe key, a provider key dedupeHours, a keyless event one window', async () => {
    expect(dedupeOf('slack-0f8fad5b-d9cb-469f-a165-70867728950e', 86_400_000)).toBeUndefined();
    expect(dedupeOf('webhook-qGns-JXZXDSw-Xaa81iHsU6daQC', 86_400_000)).toEqual({
      id: 'webhook-qGns-JXZXDSw-Xaa81iHsU6daQC',
      ttl: 86_400_000,
    });
    expect(dedupeOf('webhook-qGns-JXZXDSw-Xaa81iHsU6daQC~1a2b', 86_400_000)).toEqual({
      id: 'webhook-qGns-JXZXDSw-Xaa81iHsU6daQC',
      ttl: retryWindowMs,
    });
    const t = await relay();
    await post(t, '{"a":1}');
    const keys = await admin.keys(`${t.prefix}:relay-events:de:*`);
    expect(keys).toHaveLength(1);
    expect(await admin.pttl(keys[0] as string)).toBeLessThanOrEqual(retryWindowMs);
  });
});
