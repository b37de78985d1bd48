import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestRelay, type TestRelay } from './support/relay.js';

/** The provider routes' lean path (no express) must answer exactly as the express app did. */
const token = 'public-path-token-0123456789';
const adminToken = 'admin-token-public-path-01';
const config = (server: object = {}) => ({
  admin: { token: adminToken },
  server,
  channels: { webhook: [{ group: 'ci', trigger: 'deploys', auth: { scheme: 'token', token } }] },
});
const good = { 'content-type': 'application/json', authorization: `Bearer ${token}` };

const started: TestRelay[] = [];
async function relay(server: object = {}) {
  const t = await startTestRelay(config(server));
  started.push(t);
  return t;
}
afterAll(async () => {
  for (const t of started.reverse()) await t.close().catch(() => t.relay.close());
});

/** A request with its target exactly as given (absolute-form, a fragment, `*`), which fetch cannot send. */
function send(
  t: TestRelay,
  method: string,
  target: string,
  body = '',
  headers: Record<string, string> = {},
): Promise<{ status: number; allow: string | undefined; type: string | undefined; text: string }> {
  const { hostname, port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path: target, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          allow: res.headers.allow,
          type: res.headers['content-type'],
          text,
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function rejectionIps(t: TestRelay): Promise<string[]> {
  const res = await fetch(`${t.opsUrl}/admin/rejections?since=10m`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  return ((await res.json()) as { rejections: Array<{ ip: string }> }).rejections.map((r) => r.ip);
}

describe('the public port without express on provider routes', () => {
  it('matches as express did: any letter case, one trailing slash; the same status, type and body', async () => {
    const t = await relay();
    const res = await t.post('/WEBHOOK/ci/deploys/', '{"a":1}', good);
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('x-powered-by')).toBeNull();
    const { ids } = (await res.json()) as { ids: string[] };
    expect((await t.jobs()).map((j) => j.id)).toEqual(ids);

    const wrong = await t.post('/webhook/ci/deploys', '{}', { ...good, authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Number(wrong.headers.get('content-length'))).toBe((await wrong.text()).length);

    const get = await fetch(`${t.url}/webhook/ci/deploys`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST, PUT');
    expect(await get.json()).toEqual({ error: 'method not allowed' });

    const bad = await t.post('/webhook/ci/%E0%A4%A', '{}', good);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'bad request' });

    for (const path of ['/webhook/ci', '/webhook/ci/deploys/x', '/webhook//deploys', '/nope']) {
      const res404 = await t.post(path, '{}', good);
      expect(res404.status, path).toBe(404);
      expect(await res404.json()).toEqual({ error: 'not found' });
    }
  });

  it('believes X-Forwarded-For only from trusted proxies (server.trustProxy, as express does)', async () => {
    const forwarded = { ...good, authorization: 'Bearer nope', 'x-forwarded-for': '203.0.113.7, 10.0.0.2' };
    const trusting = await relay();
    expect((await trusting.post('/webhook/ci/deploys', '{}', forwarded)).status).toBe(401);
    // loopback and uniquelocal are trusted (the default): 10.0.0.2 is a hop, 203.0.113.7 the client.
    expect(await rejectionIps(trusting)).toEqual(['203.0.113.7']);

    const direct = await relay({ trustProxy: false });
    expect((await direct.post('/webhook/ci/deploys', '{}', forwarded)).status).toBe(401);
    expect(await rejectionIps(direct)).toEqual(['127.0.0.1']);

    const oneHop = await relay({ trustProxy: 1 });
    expect((await oneHop.post('/webhook/ci/deploys', '{}', forwarded)).status).toBe(401);
    expect(await rejectionIps(oneHop)).toEqual(['10.0.0.2']);
  });

  it('reads odd request targets as express did: absolute-form, a fragment, `*`; any method reaches the route', async () => {
    const t = await relay();
    const absolute = await send(t, 'POST', 'http://relay.example/webhook/ci/deploys?x=1', '{"a":1}', good);
    expect(absolute.status).toBe(202);
    const fragment = await send(t, 'POST', '/webhook/ci/deploys#part', '{"a":2}', good);
    expect(fragment.status).toBe(202);
    expect(await t.jobs()).toHaveLength(2);

    const star = await send(t, 'OPTIONS', '*');
    expect(star.status).toBe(404);
    expect(star.type).toBe('application/json; charset=utf-8');
    expect(JSON.parse(star.text)).toEqual({ error: 'not found' });
    expect((await send(t, 'POST', 'http://relay.example', '{}', good)).status).toBe(404);

    const options = await send(t, 'OPTIONS', '/webhook/ci/deploys');
    expect(options.status).toBe(405);
    expect(options.allow).toBe('GET, POST, PUT');
    const head = await send(t, 'HEAD', '/nope');
    expect(head.status).toBe(404);
    expect(head.text).toBe('');
    const badEscape = await send(t, 'POST', 'http://relay.example/webhook/ci/%E0%A4%A', '{}', good);
    expect(badEscape.status).toBe(400);
    expect(JSON.parse(badEscape.text)).toEqual({ error: 'bad request' });
  });
});
