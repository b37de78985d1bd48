import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestRedisServer } from './support/redis-server.js';
import { startTestRelay, type TestRelay } from './support/relay.js';

let redis: TestRedisServer;
let t: TestRelay;

const post = (body: object) =>
  t.post('/webhook/open/ping', JSON.stringify(body), { 'content-type': 'application/json' });

async function timed(fn: () => Promise<Response>): Promise<{ res: Response; ms: number }> {
  const started = performance.now();
  const res = await fn();
  return { res, ms: performance.now() - started };
}

beforeAll(async () => {
  redis = await TestRedisServer.start();
  t = await startTestRelay(
    { channels: { webhook: [{ group: 'open', trigger: 'ping', auth: { scheme: 'none' } }] } },
    { env: { REDIS_URL: redis.url } },
  );
});
afterAll(async () => {
  redis.signal('SIGCONT');
  await t.close().catch(() => {});
  await redis.stop();
});

describe('Redis unavailable', () => {
  it('answers 503 with Retry-After at once while Redis is down, and recovers without a restart', async () => {
    expect((await post({ n: 'before' })).status).toBe(202);
    await redis.kill();
    for (let i = 0; i < 5; i++) {
      const { res, ms } = await timed(() => post({ n: `down-${i}` }));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(ms).toBeLessThan(2500);
    }
    const ready = await fetch(`${t.opsUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reasons: string[] }).reasons[0]).toMatch(/^redis: /);

    await redis.startProcess();
    const deadline = Date.now() + 5000;
    let status = 0;
    while (Date.now() < deadline && status !== 202) {
      status = (await post({ n: 'after' })).status;
      if (status !== 202) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(202);
    expect((await fetch(`${t.opsUrl}/readyz`)).status).toBe(200);
  });

  it('answers 503 within about 2 s when Redis hangs (SIGSTOP), and nothing answered 2xx is missing', async () => {
    redis.signal('SIGSTOP');
    try {
      const { res, ms } = await timed(() => post({ n: 'hung' }));
      expect(res.status).toBe(503);
      expect(ms).toBeGreaterThan(1500);
      expect(ms).toBeLessThan(3500);
    } finally {
      redis.signal('SIGCONT');
    }
    // The append-only file was on, but the kill above lost Redis's memory; what matters here is the
    // accounting of this phase: whatever got a 2xx after recovery must be a job.
    const accepted: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await post({ n: `recovered-${i}` });
      if (res.status === 202) accepted.push(...((await res.json()) as { ids: string[] }).ids);
    }
    expect(accepted.length).toBeGreaterThan(0);
    for (const id of accepted) expect(await t.queue().getJob(id)).toBeTruthy();
  });
});

describe('a queue first used while Redis is down', () => {
  it('works once Redis is back (no start-up failure cached)', async () => {
    const own = await TestRedisServer.start();
    const fresh = await startTestRelay(
      { channels: { webhook: [{ group: 'open', trigger: 'ping', auth: { scheme: 'none' } }] } },
      { env: { REDIS_URL: own.url } },
    );
    try {
      own.signal('SIGSTOP');
      const first = await fresh.post('/webhook/open/ping', '{}', { 'content-type': 'application/json' });
      expect(first.status).toBe(503);
      own.signal('SIGCONT');
      let status = 0;
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && status !== 202) {
        status = (await fresh.post('/webhook/open/ping', '{}', { 'content-type': 'application/json' }))
          .status;
        if (status !== 202) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(202);
    } finally {
      own.signal('SIGCONT');
      await fresh.close().catch(() => {});
      await own.stop();
    }
  });
});
