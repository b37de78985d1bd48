import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { quietClient } from './support/quiet-client.js';
import { TestRedisServer } from './support/redis-server.js';
import { startTestRelay, type TestRelay } from './support/relay.js';
import { until } from './support/until.js';

const token = 'server-limits-token-0123456789';
const path = '/webhook/ci/deploys';
const config = (server: object) => ({
  server,
  channels: { webhook: [{ group: 'ci', trigger: 'deploys', auth: { scheme: 'token', token } }] },
});
const good = (t: TestRelay) =>
  t.post(path, '{}', { 'content-type': 'application/json', authorization: `Bearer ${token}` });

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

describe('server.maxInFlight', () => {
  it('past the bound, a request gets 503 + Retry-After at once instead of waiting on a hung Redis', async () => {
    const redis = await TestRedisServer.start();
    cleanup.push(() => redis.destroy());
    const t = await startTestRelay(config({ maxInFlight: 4 }), { env: { REDIS_URL: redis.url } });
    cleanup.push(() => t.close());
    expect((await good(t)).status).toBe(202);

    redis.signal('SIGSTOP');
    cleanup.push(async () => redis.signal('SIGCONT'));
    const hung = Array.from({ length: 4 }, () => timed(good(t)));
    // /metrics cannot tell while Redis hangs (its queue counts wait on Redis); the four hang for the
    // enqueue timeout (2 s), so they are all in flight well within this.
    await new Promise((r) => setTimeout(r, 800));

    // Without the bound this one would wait for the enqueue timeout (2 s) like the other four.
    const { value: refused, ms } = await timed(good(t));
    expect(ms).toBeLessThan(500);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(t.logs.some((l) => l.includes('over capacity (server.maxInFlight)'))).toBe(true);

    // The four took the slots and waited for Redis: 503 after the enqueue timeout.
    for (const { value, ms } of await Promise.all(hung)) {
      expect(value.status).toBe(503);
      expect(ms).toBeGreaterThan(1500);
    }
    redis.signal('SIGCONT');
    await until(async () => (await good(t)).status === 202, 10_000, 'a 202 once Redis is back');
    const metrics = await (await fetch(`${t.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/^relay_requests_in_flight 0$/m);
    expect(metrics).toMatch(/relay_requests_total\{channel="webhook",outcome="over_capacity"\} 1/);
  });

  it('defaults to 512', () => {
    expect(parseConfig({}, {}).server.maxInFlight).toBe(512);
  });
});

describe('quiet clients are cut off at server.headersTimeoutMs and server.requestTimeoutMs', () => {
  it('headers unfinished: 408 just after headersTimeoutMs; body unfinished: 408 just after requestTimeoutMs', async () => {
    const t = await startTestRelay(config({ headersTimeoutMs: 600, requestTimeoutMs: 1500 }));
    cleanup.push(() => t.close());
    const [headers, body, nothing] = await Promise.all([
      quietClient(t.url, `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n`),
      quietClient(
        t.url,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"n":`,
      ),
      quietClient(t.url, ''),
    ]);
    expect(headers.status).toBe(408);
    expect(headers.heldMs).toBeGreaterThanOrEqual(590);
    // Node checks every tenth of headersTimeoutMs here (at most every second by default).
    expect(headers.heldMs).toBeLessThan(600 + 400);
    expect(body.status).toBe(408);
    expect(body.heldMs).toBeGreaterThanOrEqual(1490);
    expect(body.heldMs).toBeLessThan(1500 + 400);
    // A connection that never sends a byte is cut like unfinished headers.
    expect(nothing.heldMs).toBeLessThan(600 + 400);
    expect((await good(t)).status).toBe(202);
  });

  it('defaults to 10 s and 20 s, as docs/reliability.md says; headers may not outlast the request', () => {
    const { server } = parseConfig({}, {});
    expect([server.headersTimeoutMs, server.requestTimeoutMs]).toEqual([10_000, 20_000]);
    expect(() => parseConfig({ server: { headersTimeoutMs: 30_000 } }, {})).toThrow(
      /server\.headersTimeoutMs: must not exceed server\.requestTimeoutMs/,
    );
  });
});
