import { createHmac } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { graphItem } from '../channels/teams/fixtures/graph.js';
import { fixtureBytes } from '../channels/whatsapp/fixtures/config.js';
import { TestRedisServer } from './support/redis-server.js';
import { startTestRelay, type TestRelay, uniquePrefix } from './support/relay.js';

const token = 'rate-limit-token-0123456789';
const adminToken = 'admin-token-rate-limit-01';
const appSecret = 'wa-rate-limit-secret-0123456789';
const clientState = 'graph-rate-limit-state-0123';
const config = (rateLimit: object) => ({
  admin: { token: adminToken },
  server: { rateLimit },
  channels: {
    webhook: [{ group: 'ci', trigger: 'deploys', auth: { scheme: 'token', token } }],
    whatsapp: [{ account: 'main', appSecret, verifyToken: 'wa-verify-token-0123' }],
    teams: [{ account: 'contoso', clientState }],
  },
});
const json = { 'content-type': 'application/json' };
const good = (t: TestRelay, extra: Record<string, string> = {}) =>
  t.post('/webhook/ci/deploys', '{}', { ...json, authorization: `Bearer ${token}`, ...extra });
const bad = (t: TestRelay, guess = 'guess', extra: Record<string, string> = {}) =>
  t.post('/webhook/ci/deploys', '{}', { ...json, authorization: `Bearer ${guess}`, ...extra });

const started: TestRelay[] = [];
async function relay(rateLimit: object, options: { prefix?: string; env?: Record<string, string> } = {}) {
  const t = await startTestRelay(config(rateLimit), options);
  started.push(t);
  return t;
}
afterAll(async () => {
  for (const t of started.reverse()) await t.close().catch(() => t.relay.close());
});

async function rejections(t: TestRelay) {
  const res = await fetch(`${t.opsUrl}/admin/rejections?since=10m`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  return ((await res.json()) as { rejections: Array<Record<string, unknown>> }).rejections;
}

describe('failed authentication is limited, verified requests never are', () => {
  it('past failedAuthMax the client gets 429 + Retry-After for its unverified requests; its verified ones pass', async () => {
    const t = await relay({ failedAuthMax: 3, windowSec: 60 });
    expect((await good(t)).status).toBe(202);
    for (let i = 0; i < 3; i++) expect((await bad(t, `guess-${i}`)).status).toBe(401);
    const limited = await bad(t, 'guess-3');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(50);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(await limited.json()).toEqual({ error: 'too many requests' });
    for (let i = 0; i < 5; i++) expect((await good(t)).status).toBe(202);
    // Probing for trigger names counts too (same route pattern), and gets 429 like any unverified request.
    expect((await t.post('/webhook/ci/other', '{}', json)).status).toBe(429);

    const limitedOnes = (await rejections(t)).filter((r) => r.reason === 'rate_limited');
    // Two 429s within a second: recorded once, with the answer they replaced.
    expect(limitedOnes).toHaveLength(1);
    expect(limitedOnes[0]).toMatchObject({ account: 'ci/deploys', detail: { status: 401 } });
    const metrics = await (await fetch(`${t.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/relay_requests_total\{channel="webhook",outcome="rate_limited"\} 2/);
    expect(metrics).toMatch(/relay_requests_total\{channel="webhook",outcome="accepted"\} 6/);
  });

  it('a spoofed X-Forwarded-For of a sender cannot lock that sender out', async () => {
    // A pod behind the (trusted, private-range) ingress claims to be a Meta address.
    const t = await relay({});
    const meta = { 'x-forwarded-for': '157.240.22.35' };
    const body = fixtureBytes('status-sent');
    const unsigned = await Promise.all(
      Array.from({ length: 25 }, () =>
        t.post('/whatsapp/main', body, { ...json, ...meta, 'x-hub-signature-256': 'sha256=00' }),
      ),
    );
    const statuses = unsigned.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(20);
    expect(statuses.filter((s) => s !== 401).every((s) => s === 429)).toBe(true);
    expect((await t.post('/whatsapp/main', body, { ...json, ...meta })).status).toBe(429);

    const signature = `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
    const signed = await t.post('/whatsapp/main', body, {
      ...json,
      ...meta,
      'x-hub-signature-256': signature,
    });
    expect(signed.status).toBe(200);
    expect((await t.jobs()).length).toBeGreaterThan(0);
    expect((await rejections(t)).find((r) => r.reason === 'rate_limited')).toMatchObject({
      ip: '157.240.22.35',
    });
  });

  it('replicas share the failure count: another replica blocks at the first failure past the limit', async () => {
    const prefix = uniquePrefix('rl-shared');
    const a = await relay({ failedAuthMax: 3 }, { prefix });
    const b = await relay({ failedAuthMax: 3 }, { prefix });
    for (let i = 0; i < 3; i++) expect((await bad(a)).status).toBe(401);
    expect((await bad(a)).status).toBe(429);
    expect((await bad(b)).status).toBe(401);
    expect((await bad(b)).status).toBe(429);
    expect((await good(b)).status).toBe(202);
  });

  it('never limits the ops port', async () => {
    const t = await relay({ failedAuthMax: 1 });
    for (let i = 0; i < 20; i++) {
      expect((await fetch(`${t.opsUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${t.opsUrl}/admin/events`)).status).toBe(401);
    }
  });

  it('can be switched off', async () => {
    const t = await relay({ enabled: false, failedAuthMax: 1 });
    for (let i = 0; i < 5; i++) expect((await bad(t)).status).toBe(401);
    expect((await good(t)).status).toBe(202);
  });
});

describe('the general volume limit is gone', () => {
  it('server.rateLimit.max still starts, is ignored, and says so once', async () => {
    const t = await relay({ max: 5 });
    for (let i = 0; i < 10; i++) expect((await good(t)).status).toBe(202);
    const lines = t.logs.filter((l) => l.includes('server.rateLimit.max is deprecated and ignored'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string).level).toBe(40);
  });
});

describe('Graph notifications: the proof is in the body', () => {
  const notifications = '/teams/contoso/notifications';
  const junk = [
    '{"value":[',
    JSON.stringify({ value: [graphItem({ clientState: undefined })] }),
    JSON.stringify({ value: [graphItem({ clientState: 'a-guess' })] }),
    // Mentions the right clientState, but cannot be parsed: still no item to trust.
    `{"value":[{"clientState":"${clientState}"`,
  ];

  it('a body that cannot be parsed or holds no valid clientState is a failed authentication, counted', async () => {
    const t = await relay({ failedAuthMax: junk.length });
    for (const body of junk) expect((await t.post(notifications, body, json)).status).toBe(401);
    expect((await t.post(notifications, junk[0] as string, json)).status).toBe(429);
    const reasons = (await rejections(t)).map((r) => r.reason);
    expect(reasons.filter((r) => r === 'missing_signature' || r === 'bad_signature')).toHaveLength(4);
    expect(reasons).not.toContain('bad_body');

    // The blocked client's genuine notifications and Graph's handshake still pass.
    const genuine = JSON.stringify({ value: [graphItem({ clientState })] });
    expect((await t.post(notifications, genuine, json)).status).toBe(202);
    const handshake = await fetch(`${t.url}${notifications}?validationToken=abc%20def`, { method: 'POST' });
    expect(handshake.status).toBe(200);
    expect(await handshake.text()).toBe('abc def');
  });
});

describe('Redis outage', () => {
  it('verified requests get 503, never 429, even from a client past its failure limit; no limiter call on their way', async () => {
    const server = await TestRedisServer.start();
    const probe = new Redis(server.url);
    probe.on('error', () => {});
    const t = await startTestRelay(config({ failedAuthMax: 3 }), { env: { REDIS_URL: server.url } });
    try {
      await probe.config('RESETSTAT');
      for (let i = 0; i < 50; i++) expect((await good(t)).status).toBe(202);
      const stats = await probe.info('commandstats');
      const calls = (name: string) =>
        Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      // Each request's enqueue is one BullMQ script call, and nothing else runs a script.
      expect(calls('eval') + calls('evalsha')).toBe(50);

      await server.kill();
      for (let i = 0; i < 3; i++) expect((await bad(t)).status).toBe(401);
      expect((await bad(t)).status).toBe(429);
      const answers = await Promise.all(Array.from({ length: 20 }, () => good(t)));
      for (const r of answers) {
        expect(r.status).toBe(503);
        expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
      }
    } finally {
      probe.disconnect();
      await server.startProcess();
      await t.close();
      await server.stop();
    }
  });
});
