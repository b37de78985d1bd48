import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStandardWebhook } from '../src/verify/standard-webhooks.js';
import { startTestRelay, type TestRelay, uniquePrefix } from './support/relay.js';

const adminToken = 'admin-token-for-triggers-01';
const configToken = 'config-trigger-token-0123';
let clock = 1_800_000_000_000;
let a: TestRelay;
let b: TestRelay;

const config = {
  admin: { token: adminToken },
  channels: { webhook: [{ group: 'fixed', trigger: 'hook', auth: { scheme: 'token', token: configToken } }] },
};

const admin = (t: TestRelay, path: string, init: RequestInit = {}) =>
  fetch(`${t.opsUrl}/admin${path}`, {
    ...init,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', ...init.headers },
  });

const put = (t: TestRelay, id: string, body: object) =>
  admin(t, `/triggers/${id}`, { method: 'PUT', body: JSON.stringify(body) });

function stdPost(t: TestRelay, id: string, secret: string, body = '{"n":1}') {
  const msgId = `msg_${Math.random().toString(36).slice(2)}`;
  const ts = Math.floor(clock / 1000);
  return t.post(`/webhook/${id}`, body, {
    'content-type': 'application/json',
    'webhook-id': msgId,
    'webhook-timestamp': String(ts),
    'webhook-signature': signStandardWebhook(secret, msgId, ts, body),
  });
}

const tokenPost = (t: TestRelay, id: string, token: string) =>
  t.post(`/webhook/${id}`, '{}', { 'content-type': 'application/json', authorization: `Bearer ${token}` });

/** Polls until `fn` answers the wanted status; returns how long that took. */
async function within(ms: number, fn: () => Promise<Response>, status: number): Promise<number> {
  const started = Date.now();
  let last = 0;
  while (Date.now() - started < ms) {
    last = (await fn()).status;
    if (last === status) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`still ${last} after ${ms} ms, wanted ${status}`);
}

beforeAll(async () => {
  const prefix = uniquePrefix('triggers');
  a = await startTestRelay(config, { prefix, now: () => clock });
  b = await startTestRelay(config, { prefix, now: () => clock });
});
afterAll(async () => {
  await b.relay.close();
  await a.close();
});

describe('run-time generic triggers on two replicas', () => {
  const secrets: string[] = [];

  it('PUT on one replica: a generated whsec_ secret shown once; the other accepts the trigger within 1 s', async () => {
    expect((await stdPost(b, 'rt/one', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).status).toBe(404);
    const res = await put(a, 'rt/one', {});
    expect(res.status).toBe(201);
    const created = (await res.json()) as { secret: string; scheme: string; secrets: unknown[] };
    expect(created.scheme).toBe('standard-webhooks');
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(created.secret.slice(6), 'base64')).toHaveLength(32);
    secrets.push(created.secret);
    const ms = await within(1000, () => stdPost(b, 'rt/one', created.secret), 202);
    expect(ms).toBeLessThan(1000);
    expect((await stdPost(b, 'rt/one', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).status).toBe(401);
    const [id] = ((await (await stdPost(a, 'rt/one', created.secret)).json()) as { ids: string[] }).ids;
    expect((await b.queue().getJob(id as string))?.data.source).toBe('/webhook/rt/one');
  });

  it('GET never returns a secret; the list shows config triggers as such', async () => {
    const one = await (await admin(b, '/triggers/rt/one')).text();
    expect(one).not.toContain(secrets[0]);
    expect(JSON.parse(one)).toMatchObject({
      id: 'rt/one',
      source: 'runtime',
      secrets: [{ expiresAt: null }],
    });
    const all = await (await admin(a, '/triggers')).text();
    expect(all).not.toContain(secrets[0]);
    expect(all).not.toContain(configToken);
    expect(
      JSON.parse(all).triggers.map((t: { id: string; source: string }) => `${t.source}:${t.id}`),
    ).toEqual(['config:fixed/hook', 'runtime:rt/one']);
    expect((await admin(a, '/triggers/rt/none')).status).toBe(404);
  });

  it('token and hmac schemes get 32 random bytes as base64url; a given secret is kept', async () => {
    const tok = (await (await put(a, 'rt/tok', { scheme: 'token' })).json()) as { secret: string };
    expect(tok.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await within(1000, () => tokenPost(b, 'rt/tok', tok.secret), 202);
    const given = await put(a, 'rt/given', { scheme: 'token', secret: 'a-given-secret-of-24-chars' });
    expect(((await given.json()) as { secret: string }).secret).toBe('a-given-secret-of-24-chars');
    await within(1000, () => tokenPost(b, 'rt/given', 'a-given-secret-of-24-chars'), 202);
    // An update that keeps the scheme keeps the secret, and shows none.
    const update = await put(a, 'rt/given', { scheme: 'token', queue: 'elsewhere' });
    expect(update.status).toBe(200);
    expect(await update.text()).not.toContain('a-given-secret');
    secrets.push(tok.secret, 'a-given-secret-of-24-chars');
  });

  it('rotate: the old secret stays valid for the grace period, then stops', async () => {
    const old = secrets[0] as string;
    const res = await admin(a, '/triggers/rt/one/rotate', { method: 'POST', body: '{"grace":"1h"}' });
    const rotated = (await res.json()) as { secret: string; secrets: Array<{ expiresAt: string | null }> };
    expect(rotated.secret).not.toBe(old);
    expect(rotated.secrets.map((s) => s.expiresAt)).toEqual([
      null,
      new Date(clock + 3_600_000).toISOString(),
    ]);
    secrets.push(rotated.secret);
    await within(1000, () => stdPost(b, 'rt/one', rotated.secret), 202);
    expect((await stdPost(b, 'rt/one', old)).status).toBe(202);
    clock += 3_600_000 + 1000;
    expect((await stdPost(b, 'rt/one', old)).status).toBe(401);
    expect((await stdPost(b, 'rt/one', rotated.secret)).status).toBe(202);
    const now = (await admin(a, '/triggers/rt/one/rotate', { method: 'POST', body: '{"grace":"0"}' })).json();
    const fresh = ((await now) as { secret: string }).secret;
    secrets.push(fresh);
    await within(1000, () => stdPost(b, 'rt/one', rotated.secret), 401);
    expect((await stdPost(b, 'rt/one', fresh)).status).toBe(202);
  });

  it('config triggers are read-only: PUT, rotate and DELETE answer 409', async () => {
    for (const [method, path] of [
      ['PUT', '/triggers/fixed/hook'],
      ['POST', '/triggers/fixed/hook/rotate'],
      ['DELETE', '/triggers/fixed/hook'],
    ] as const) {
      const res = await admin(a, path, { method, body: method === 'DELETE' ? null : '{}' });
      expect(res.status).toBe(409);
      expect(((await res.json()) as { error: string }).error).toMatch(
        /defined in the config file; change it there/,
      );
    }
    expect((await tokenPost(b, 'fixed/hook', configToken)).status).toBe(202);
  });

  it('refuses bad input with 400 and a clear message', async () => {
    const cases: Array<[string, object, RegExp]> = [
      ['rt/bad', { scheme: 'rot13' }, /scheme/],
      ['rt/bad', { scheme: 'token', secret: 'short' }, /at least 16 characters/],
      ['rt/bad', { scheme: 'standard-webhooks', secret: 'not-a-whsec-key-at-all' }, /whsec_/],
      ['rt/bad', { nope: 1 }, /nope|unrecognized/i],
      ['rt/b:d', {}, /1-64 of/],
    ];
    for (const [id, body, message] of cases) {
      const res = await put(a, id, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(message);
    }
    expect((await put(a, 'rt/one', {})).status).toBe(200);
    expect(
      (await admin(a, '/triggers/rt/one', { method: 'PUT', body: '{}', headers: { 'if-none-match': '*' } }))
        .status,
    ).toBe(409);
  });

  it('DELETE on one replica: the other answers 404 within 1 s', async () => {
    const fresh = secrets[secrets.length - 1] as string;
    expect((await stdPost(b, 'rt/one', fresh)).status).toBe(202);
    expect((await admin(a, '/triggers/rt/one', { method: 'DELETE' })).status).toBe(204);
    const ms = await within(1000, () => stdPost(b, 'rt/one', fresh), 404);
    expect(ms).toBeLessThan(1000);
    expect((await admin(a, '/triggers/rt/one', { method: 'DELETE' })).status).toBe(404);
  });

  it('never writes a run-time secret to either replica’s log', () => {
    const text = [...a.logs, ...b.logs].join('\n');
    expect(text).toContain('"outcome":"accepted"');
    for (const secret of secrets) expect(text).not.toContain(secret);
  });
});
