import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggersKey } from '../src/triggers/store.js';
import { runRelay, writeConfig } from './support/process.js';
import { redisUrl, startTestRelay, type TestRelay } from './support/relay.js';
import { until } from './support/until.js';

const execFileAsync = promisify(execFile);
const adminToken = 'admin-token-for-secrets-0123';
const fingerprint = createHash('sha256').update(adminToken).digest('hex').slice(0, 8);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
let t: TestRelay;
let redis: Redis;
let cliConfig: string;

const admin = (path: string, method: string, body?: object) =>
  fetch(`${t.opsUrl}/admin${path}`, {
    method,
    ...(body ? { body: JSON.stringify(body) } : {}),
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
  });
const tokenPost = (id: string, token: string) =>
  t.post(`/webhook/${id}`, '{}', { 'content-type': 'application/json', authorization: `Bearer ${token}` });
const stored = async (id: string) => (await redis.hget(triggersKey(t.prefix), id)) ?? '';

beforeAll(async () => {
  t = await startTestRelay({ admin: { token: adminToken } });
  redis = new Redis(redisUrl);
  cliConfig = writeConfig({ redis: { url: redisUrl, prefix: t.prefix } });
});
afterAll(async () => {
  await redis.quit();
  await t.close();
});

describe('run-time token triggers are kept hashed', () => {
  it('after create and rotate, Redis holds only SHA-256 digests; every live token still verifies', async () => {
    const created = (await (await admin('/triggers/rt/tok', 'PUT', { scheme: 'token' })).json()) as {
      secret: string;
    };
    const first = created.secret;
    expect(await stored('rt/tok')).not.toContain(first);
    expect(await stored('rt/tok')).toContain(sha256(first));
    expect((await tokenPost('rt/tok', first)).status).toBe(202);
    expect((await tokenPost('rt/tok', `${first}x`)).status).toBe(401);
    expect((await tokenPost('rt/tok', sha256(first))).status).toBe(401); // the digest is no token

    const rotated = (await (await admin('/triggers/rt/tok/rotate', 'POST', { grace: '1h' })).json()) as {
      secret: string;
    };
    const json = await stored('rt/tok');
    for (const token of [first, rotated.secret]) expect(json).not.toContain(token);
    expect(JSON.parse(json).secrets).toHaveLength(2);
    await until(async () => (await tokenPost('rt/tok', rotated.secret)).status === 202);
    expect((await tokenPost('rt/tok', first)).status).toBe(202); // still in its grace period

    const given = 'a-given-token-0123456789';
    await admin('/triggers/rt/given', 'PUT', { scheme: 'token', secret: given });
    expect(await stored('rt/given')).not.toContain(given);
    await until(async () => (await tokenPost('rt/given', given)).status === 202);
  });

  it('a record written in clear before hashing still verifies, and is hashed at the next start', async () => {
    const clear = 'legacy-clear-token-0123456789';
    const at = new Date().toISOString();
    const legacy = { group: 'rt', trigger: 'legacy', scheme: 'token', createdAt: at, updatedAt: at };
    await redis.hset(
      triggersKey(t.prefix),
      'rt/legacy',
      JSON.stringify({ ...legacy, secrets: [{ value: clear, addedAt: at }] }),
    );
    await redis.publish(`${t.prefix}:relay:triggers:changed`, 'rt/legacy');
    await until(async () => (await tokenPost('rt/legacy', clear)).status === 202);
    expect((await tokenPost('rt/legacy', `${clear}x`)).status).toBe(401);

    const second = await startTestRelay({}, { prefix: t.prefix });
    try {
      expect(await stored('rt/legacy')).not.toContain(clear);
      expect(await stored('rt/legacy')).toContain(sha256(clear));
      expect(second.logs.join('\n')).toContain('run-time trigger tokens now kept as SHA-256 digests');
      expect(
        (await second.post('/webhook/rt/legacy', '{}', { authorization: `Bearer ${clear}` })).status,
      ).toBe(202);
    } finally {
      await second.relay.close();
    }
  });
});

describe('relay sign for run-time triggers', () => {
  // Asynchronously: the relay under test runs in this process and must answer meanwhile.
  const curlStatus = async (stdout: string) =>
    (
      await execFileAsync('sh', [
        '-c',
        stdout.replace(/\\\n\s*/g, '').replace(/^curl -i /, 'curl -s -o /dev/null -w %{http_code} '),
      ])
    ).stdout;

  it('signs HMAC and Standard Webhooks triggers from Redis; a hashed token needs --token', async () => {
    await admin('/triggers/rt/std', 'PUT', {});
    await admin('/triggers/rt/mac', 'PUT', { scheme: 'hmac-sha256', prefix: 'sha256=' });
    const tok = (await (await admin('/triggers/rt/signtok', 'PUT', { scheme: 'token' })).json()) as {
      secret: string;
    };
    const sign = (id: string, ...extra: string[]) =>
      runRelay(['sign', id, '--data', '{"signed":true}', '--config', cliConfig, '--url', t.url, ...extra]);
    for (const id of ['rt/std', 'rt/mac']) {
      const out = sign(id);
      expect(out.stderr).toBe('');
      expect(out.status).toBe(0);
      await until(async () => (await curlStatus(out.stdout)) === '202', 5000, `${id} accepted`);
    }

    const without = sign('rt/signtok');
    expect(without.status).toBe(1);
    expect(without.stderr).toBe(
      'relay: trigger rt/signtok keeps only a SHA-256 of its token, which cannot be turned back into the token; pass it with --token <token>\n',
    );
    const wrong = sign('rt/signtok', '--token', 'not-the-token-0123456789');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toBe('relay: --token is not a current token of trigger rt/signtok\n');
    const withToken = sign('rt/signtok', '--token', tok.secret);
    expect(withToken.status).toBe(0);
    await until(async () => (await curlStatus(withToken.stdout)) === '202', 5000, 'token trigger accepted');

    const unknown = sign('rt/none');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toBe(
      'relay: no webhook account "rt/none" in the config nor among the run-time triggers\n',
    );
  });
});

describe('audit lines for admin changes', () => {
  it('trigger create, rotate, delete and replays each log what and by which token, never a secret', async () => {
    const from = t.logs.length;
    const created = (await (await admin('/triggers/audit/one', 'PUT', { scheme: 'token' })).json()) as {
      secret: string;
    };
    const rotated = (await (await admin('/triggers/audit/one/rotate', 'POST', { grace: '0' })).json()) as {
      secret: string;
    };
    const accepted = await until(async () => {
      const res = await tokenPost('audit/one', rotated.secret);
      return res.status === 202 && res;
    });
    const id = ((await accepted.json()) as { ids: string[] }).ids[0];
    expect((await admin('/replay', 'POST', { ids: [id], dryRun: true })).status).toBe(200);
    expect((await admin('/replay', 'POST', { ids: [id] })).status).toBe(200);
    expect((await admin('/replay', 'POST', { state: 'failed' })).status).toBe(200);
    expect((await admin('/triggers/audit/one', 'DELETE')).status).toBe(204);

    const lines = await until(() => {
      const found = t.logs
        .slice(from)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.audit);
      return found.length >= 5 ? found : undefined;
    });
    expect(lines.map((l) => l.audit)).toEqual([
      'trigger.create',
      'trigger.rotate',
      'events.replay',
      'events.replay',
      'trigger.delete',
    ]);
    for (const line of lines) {
      expect(line.by).toBe(`admin-token:${fingerprint}`);
      expect(Date.parse(String(line.time))).toBeGreaterThan(Date.now() - 60_000);
    }
    expect(lines[0]).toMatchObject({ trigger: 'audit/one', scheme: 'token', secretIssued: true });
    expect(lines[2]).toMatchObject({ ids: [id], count: 0 }); // a waiting event: skipped, and said so
    expect(lines[3]).toMatchObject({ filter: { state: 'failed' }, count: 0 });
    const all = t.logs.join('\n');
    for (const secret of [adminToken, created.secret, rotated.secret]) expect(all).not.toContain(secret);
  });
});
