import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { TestRedisServer } from './support/redis-server.js';
import { startTestRelay, type TestRelay, uniquePrefix } from './support/relay.js';

const token = 'rate-limit-token-0123456789';
const adminToken = 'admin-token-rate-limit-01';
const config = (rateLimit: object) => ({
  admin: { token: adminToken },
  server: { rateLimit },
  channels: { webhook: [{ group: 'ci', trigger: 'deploys', auth: { scheme: 'token', token } }] },
});
const good = (t: TestRelay) =>
  t.post('/webhook/ci/deploys', '{}', {
    'content-type': 'application/json',
    authorization: `Bearer ${token}`,
  });
const bad = (t: TestRelay, guess = 'guess') =>
  t.post('/webhook/ci/deploys', '{}', {
    'content-type': 'application/json',
    authorization: `Bearer ${guess}`,
  });

const started: TestRelay[] = [];
async function relay(rateLimit: object, options: { prefix?: string; env?: Record<string, string> } = {}) {
  const t = await startTestRelay(config(rateLimit), options);
  started.push(t);
  return t;
}
afterAll(async () => {
  for (const t of started.reverse()) await t.close().catch(() => t.relay.close());
});

describe('failed authentication is limited strictly', () => {
  it('after failedAuthMax failures the client gets 429 + Retry-After on that route, even with the right token', async () => {
    const t = await relay({ failedAuthMax: 3, windowSec: 60 });
    expect((await good(t)).status).toBe(202);
    for (let i = 0; i < 3; i++) expect((await bad(t, `guess-${i}`)).status).toBe(401);
    const limited = await bad(t, 'guess-3');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(50);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(await limited.json()).toEqual({ error: 'too many requests' });
    expect((await good(t)).status).toBe(429);
    // Probing for trigger names counts too: same route pattern.
    expect((await t.post('/webhook/ci/other', '{}', { 'content-type': 'application/json' })).status).toBe(
      429,
    );

    const rejections = (await (
      await fetch(`${t.opsUrl}/admin/rejections?since=10m`, {
        headers: { authorization: `Bearer ${adminToken}` },
      })
    ).json()) as {
      rejections: Array<{ reason: string; account: string; detail?: { retryAfterSec: number } }>;
    };
    const limitedOnes = rejections.rejections.filter((r) => r.reason === 'rate_limited');
    // Three 429s within a second: recorded once.
    expect(limitedOnes).toHaveLength(1);
    expect(limitedOnes[0]).toMatchObject({ account: 'ci/deploys' });
    expect(limitedOnes[0]?.detail?.retryAfterSec).toBeGreaterThan(0);
    const metrics = await (await fetch(`${t.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/relay_requests_total\{channel="webhook",outcome="rate_limited"\} 3/);
  });

  it('replicas share the failure count: another replica blocks at the first failure past the limit', async () => {
    const prefix = uniquePrefix('rl-shared');
    const a = await relay({ failedAuthMax: 3 }, { prefix });
    const b = await relay({ failedAuthMax: 3 }, { prefix });
    for (let i = 0; i < 3; i++) expect((await bad(a)).status).toBe(401);
    expect((await bad(a)).status).toBe(429);
    expect((await bad(b)).status).toBe(401);
    expect((await bad(b)).status).toBe(429);
    expect((await good(b)).status).toBe(429);
  });

  it('never limits the ops port', async () => {
    const t = await relay({ max: 3, failedAuthMax: 1 });
    for (let i = 0; i < 20; i++) {
      expect((await fetch(`${t.opsUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${t.opsUrl}/admin/events`)).status).toBe(401);
    }
  });

  it('can be switched off', async () => {
    const t = await relay({ enabled: false, failedAuthMax: 1, max: 1 });
    for (let i = 0; i < 5; i++) expect((await bad(t)).status).toBe(401);
    expect((await good(t)).status).toBe(202);
  });
});

describe('the general limit', () => {
  it('answers 429 past max per client and route; replicas share counts within a flush', async () => {
    const prefix = uniquePrefix('rl-general');
    const a = await relay({ max: 5 }, { prefix });
    const b = await relay({ max: 5 }, { prefix });
    // Batches reach Redis every 200 ms; wait for them by polling the shared counter.
    const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    const sharedCount = async (want: number) => {
      const deadline = Date.now() + 3000;
      let total = 0;
      while (Date.now() < deadline && total < want) {
        const keys = await redis.keys(`${prefix}:relay:rl:all:*`);
        total = keys.length ? Number(await redis.get(keys[0] as string)) : 0;
        if (total < want) await new Promise((r) => setTimeout(r, 20));
      }
      return total;
    };
    try {
      for (let i = 0; i < 4; i++) expect((await good(a)).status).toBe(202);
      expect(await sharedCount(4)).toBe(4);
      expect((await good(b)).status).toBe(202);
      // b's own batch answers with the total of both replicas.
      expect(await sharedCount(5)).toBe(5);
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      redis.disconnect();
    }
    const limited = await good(b);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('adds no Redis call per request, and a Redis outage never turns it into 500s', async () => {
    const server = await TestRedisServer.start();
    const probe = new Redis(server.url);
    probe.on('error', () => {});
    const t = await startTestRelay(config({ failedAuthMax: 3, max: 10_000 }), {
      env: { REDIS_URL: server.url },
    });
    try {
      await probe.config('RESETSTAT');
      for (let i = 0; i < 100; i++) expect((await good(t)).status).toBe(202);
      const stats = await probe.info('commandstats');
      const calls = (name: string) =>
        Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      // Each request's enqueue is one BullMQ script call; the limiter adds one batch per 200 ms,
      // not a call per request (a per-request store would make this about 200).
      const scripts = calls('eval') + calls('evalsha');
      expect(scripts).toBeGreaterThanOrEqual(100);
      expect(scripts).toBeLessThan(120);

      await server.kill();
      for (let i = 0; i < 3; i++) expect((await bad(t)).status).toBe(401);
      expect((await bad(t)).status).toBe(429);
      expect((await good(t)).status).toBe(429);
    } finally {
      probe.disconnect();
      await server.startProcess();
      await t.close();
      await server.stop();
    }
  });
});
