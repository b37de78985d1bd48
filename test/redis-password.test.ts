import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { relayBin, runRelay, writeConfig } from './support/process.js';
import { freePort, TestRedisServer } from './support/redis-server.js';
import { uniquePrefix } from './support/relay.js';
import { until } from './support/until.js';

const password = `redis-pass-${randomBytes(8).toString('hex')}`;
const adminToken = 'admin-token-redis-password-01';

describe('a password in the Redis URL never reaches a log line or an error', () => {
  let redis: TestRedisServer;
  afterAll(async () => {
    await redis?.destroy();
  });

  it('relay start, Redis killed and back: every captured line masks it', async () => {
    redis = await TestRedisServer.start(['--requirepass', password]);
    expect(redis.url).toContain(password);
    const config = writeConfig({
      server: { port: 0, opsPort: 0, host: '127.0.0.1', opsHost: '127.0.0.1' },
      redis: { url: redis.url, prefix: uniquePrefix('redis-pass') },
      admin: { token: adminToken },
      channels: { webhook: [{ group: 'open', trigger: 'ping', auth: { scheme: 'none' } }] },
    });
    const child = spawn(process.execPath, [relayBin, 'start', '--config', config], {
      env: { ...process.env, LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d) => {
      output += String(d);
    });
    child.stderr?.on('data', (d) => {
      output += String(d);
    });
    const exited = new Promise((r) => child.once('exit', r));
    try {
      const ready = await until(
        () => output.split('\n').find((l) => l.includes('"relay ready"')),
        20_000,
        'relay ready',
      );
      const { public: publicUrl, ops } = JSON.parse(ready) as { public: string; ops: string };
      const seen: string[] = [];
      await redis.kill();
      await until(() => output.includes('Redis connection lost'), 10_000, 'connection lost logged');
      const refused = await fetch(`${publicUrl}/webhook/open/ping`, { method: 'POST', body: '{}' });
      expect(refused.status).toBe(503);
      seen.push(await refused.text(), await (await fetch(`${ops}/readyz`)).text());
      const admin = await fetch(`${ops}/admin/events`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      seen.push(await admin.text());
      // The reconnect attempts' errors are logged (debug) before Redis is back, and checked below.
      await until(() => output.includes('"redis connection error"'), 10_000, 'connection error logged');
      await redis.startProcess();
      await until(() => output.includes('Redis connection restored'), 15_000, 'connection restored logged');
      child.kill('SIGTERM');
      await exited;

      const lost = output.split('\n').find((l) => l.includes('Redis connection lost')) ?? '';
      expect(JSON.parse(lost).redis).toBe(`redis://:***@127.0.0.1:${redis.port}`);
      for (const text of [output, ...seen]) {
        expect(text).not.toContain(password);
        expect(text).not.toContain(encodeURIComponent(password));
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('start-up and CLI errors for an unreachable Redis mask it too', async () => {
    const url = `redis://:${password}@127.0.0.1:${await freePort()}`;
    const masked = url.replace(password, '***');
    const config = writeConfig({ redis: { url, prefix: uniquePrefix('redis-pass') } });
    const start = runRelay(['start', '--config', config]);
    expect(start.status).toBe(1);
    expect(start.stderr).toContain(`no Redis answers at ${masked}`);
    const list = runRelay(['events', 'list', '--config', config]);
    expect(list.status).toBe(1);
    expect(list.stderr).toContain(`cannot reach Redis at ${masked}`);
    const check = runRelay(['check', '--config', config]);
    expect(check.stdout).toContain(`redis ${masked}`);
    const doctor = runRelay(['doctor', '--config', config]);
    for (const out of [start, list, check, doctor]) expect(out.stdout + out.stderr).not.toContain(password);
  });
});
