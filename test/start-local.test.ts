import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { relayBin, runRelay, writeConfig } from './support/process.js';
import { freePort } from './support/redis-server.js';
import { redisUrl, uniquePrefix } from './support/relay.js';
import { until } from './support/until.js';

/** `relay start` in `cwd`, as `npm start` runs it; resolves once it is ready. */
function start(cwd: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [relayBin, 'start'], {
    cwd,
    env: { ...process.env, RELAY_CONFIG: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d) => {
    out.stdout += String(d);
  });
  child.stderr?.on('data', (d) => {
    out.stderr += String(d);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out, exited };
}

const readyLine = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.includes('"relay ready"'))
    .map((l) => JSON.parse(l) as { public: string })[0];

describe('npm start keeps its local Redis after Ctrl-C', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'relay-local-redis-'));
  const started: ChildProcess[] = [];
  let redisPid: number | undefined;
  afterAll(() => {
    for (const c of started) if (c.exitCode === null) c.kill('SIGKILL');
    if (redisPid !== undefined) process.kill(redisPid, 'SIGTERM');
    rmSync(cwd, { recursive: true, force: true });
  });

  it('the events it queued can be listed after Ctrl-C; the next start uses the same Redis', async () => {
    // The machine's own Redis holds 6379: the default URL is moved to a free port for this test.
    const url = `redis://127.0.0.1:${await freePort()}`;
    const env = { REDIS_URL: url, RELAY_DEFAULT_REDIS_URL: url, PORT: '0', OPS_PORT: '0' };
    const first = start(cwd, env);
    started.push(first.child);
    const ready = await until(() => readyLine(first.out.stdout), 20_000, 'relay ready');
    expect(first.out.stdout).toContain('no Redis was answering: started a local redis-server');
    const token = readFileSync(join(cwd, '.relay', 'demo-token'), 'utf8').trim();
    const res = await fetch(`${ready.public}/webhook/demo/hello`, {
      method: 'POST',
      body: '{"hello":"world"}',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(202);
    const [id] = ((await res.json()) as { ids: string[] }).ids;

    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    redisPid = Number(readFileSync(join(cwd, '.relay', 'redis', 'redis.pid'), 'utf8'));
    const said = first.out.stderr.split('\n').filter((l) => l.includes('keeps running'));
    expect(said).toEqual([
      `relay: the local redis-server keeps running (pid ${redisPid}, data in .relay/redis), so "npx relay events list" still works and the next start uses it; stop it with: kill ${redisPid}`,
    ]);

    const list = runRelay(['events', 'list'], { ...env, RELAY_CONFIG: '' }, cwd);
    expect(list.stderr).toBe('');
    expect(list.stdout).toContain(id);

    const second = start(cwd, env);
    started.push(second.child);
    await until(() => readyLine(second.out.stdout), 20_000, 'relay ready again');
    expect(second.out.stdout).toContain('using the local redis-server an earlier relay start left running');
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });
});

describe('a port already in use', () => {
  let holder: Server;
  afterAll(() => holder?.close());

  it('gets one line naming the port and the setting, exit 1', async () => {
    holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as { port: number }).port;
    const base = { redis: { url: redisUrl, prefix: uniquePrefix('port') } };
    const host = { host: '127.0.0.1', opsHost: '127.0.0.1' };

    const publicTaken = runRelay([
      'start',
      '--config',
      writeConfig({ ...base, server: { ...host, port, opsPort: 0 } }),
    ]);
    expect(publicTaken.status).toBe(1);
    expect(publicTaken.stderr).toBe(
      `relay: public port ${port} is already in use (another relay?): stop it, or set PORT or server.port\n`,
    );
    const opsTaken = runRelay([
      'start',
      '--config',
      writeConfig({ ...base, server: { ...host, port: 0, opsPort: port } }),
    ]);
    expect(opsTaken.status).toBe(1);
    expect(opsTaken.stderr).toBe(
      `relay: ops port ${port} is already in use (another relay?): stop it, or set OPS_PORT or server.opsPort\n`,
    );
  });
});
