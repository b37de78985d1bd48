import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './ops-cli-harness.js';
import { writeConfig } from './support/process.js';
import { TestRedisServer } from './support/redis-server.js';
import { startTestRelay, type TestRelay, uniquePrefix } from './support/relay.js';

/**
 * `relay doctor` (a process: needs `npm run build`) warns when the current event rate times retention
 * would pass Redis `maxmemory`, and when nothing bounds Redis. A private redis-server with a small
 * maxmemory; 100 events of 0.76 KB in the last hour project to 16,800 retained events over 168 h.
 */

const token = 'doctor-memory-token-0123';
let redis: TestRedisServer;
let admin: Redis;
let t: TestRelay;
const prefix = uniquePrefix('doctor-memory');
const raw = {
  channels: { webhook: [{ group: 'shop', trigger: 'orders', auth: { scheme: 'token', token } }] },
};
const doctor = (queue: object = {}) =>
  runCli([
    'doctor',
    '--config',
    writeConfig({ ...raw, queue, server: { port: 0, opsPort: 0 }, redis: { url: redis.url, prefix } }),
  ]);
const memoryLine = (stdout: string) => stdout.split('\n').find((l) => l.includes('redis memory')) ?? '';

beforeAll(async () => {
  redis = await TestRedisServer.start(['--maxmemory', '3mb', '--maxmemory-policy', 'noeviction']);
  admin = new Redis(redis.url);
  t = await startTestRelay(raw, { prefix, env: { REDIS_URL: redis.url } });
  const body = JSON.stringify({ order: 'x'.repeat(740) });
  for (let i = 0; i < 100; i++) {
    const res = await t.post('/webhook/shop/orders', body, {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'idempotency-key': `order-${i}`,
    });
    expect(res.status).toBe(202);
  }
});
afterAll(async () => {
  await t.close().catch(() => {});
  admin.disconnect();
  await redis.stop();
});

describe('relay doctor: Redis memory against retention', () => {
  it('warns when the rate times retention passes maxmemory, with the figures', async () => {
    const out = await doctor();
    const line = memoryLine(out.stdout);
    expect(line).toMatch(/^warning\s+redis memory: 0\.03 events\/s over the last hour × 168 h retention/);
    expect(line).toMatch(/keeps 16800 events × \d\.\d KB = \d+\.\d MB, past maxmemory 3\.0 MB/);
    expect(line).toMatch(/Set queue\.keepCompletedCount to about \d+/);
  });

  it('is fine once queue.keepCompletedCount bounds what is kept', async () => {
    const line = memoryLine((await doctor({ keepCompletedCount: 100 })).stdout);
    expect(line).toMatch(
      /^ok\s+redis memory: .*at most 100 per queue keeps 100 events .* within maxmemory 3\.0 MB/,
    );
  });

  it('warns that nothing bounds Redis when maxmemory is 0', async () => {
    await admin.config('SET', 'maxmemory', '0');
    try {
      const line = memoryLine((await doctor()).stdout);
      expect(line).toMatch(/^warning\s+redis memory: maxmemory is not set: nothing bounds Redis/);
      expect(line).toMatch(/keeps 16800 events/);
    } finally {
      await admin.config('SET', 'maxmemory', '3mb');
    }
  });
});
