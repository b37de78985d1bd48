/**
 * Good-request latency while one address floods unsigned ~900 KB bodies at the Graph notification
 * route (issue 11): starts a relay from a checkout on loopback, measures one authenticated generic
 * request every 50 ms without the flood, then with it, and prints both.
 *
 * Usage: npm run build && node dist/bench/graph-flood.js [--root DIR] [--rate 12] [--seconds 15]
 *   --root: the checkout whose bin/relay.js to run (default: this one; point it at an older build
 *   to compare). Redis at REDIS_URL (default 127.0.0.1:6379); keys under a fresh prefix, deleted after.
 * The flood body is valid JSON with 2,100 Graph-shaped items (~900 KB) under `values` (no `value` array, no
 * clientState): a relay that parses before checking the proof pays a full JSON.parse for each.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';

const { values } = parseArgs({
  options: { root: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' } },
  strict: true,
});
const root = resolve(values.root ?? join(import.meta.dirname, '..', '..'));
const floodPerSec = Number(values.rate ?? 12);
const floodSeconds = Number(values.seconds ?? 15);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const token = 'graph-flood-token-0123456789';
const prefix = `bench-flood-${randomUUID().slice(0, 8)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function graphItem(i: number): Record<string, unknown> {
  const resource = `chats('19:abc@thread.v2')/messages('${i}')`;
  return {
    id: `n-${i}-${randomUUID()}`,
    subscriptionId: randomUUID(),
    changeType: 'created',
    tenantId: randomUUID(),
    resource,
    resourceData: { id: String(i), '@odata.type': '#Microsoft.Graph.ChatMessage', '@odata.id': resource },
    subscriptionExpirationDateTime: '2026-12-03T18:23:45.9356913+00:00',
  };
}
const floodBody = Buffer.from(
  JSON.stringify({ values: Array.from({ length: 2100 }, (_, i) => graphItem(i)) }),
);

async function startRelay(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const config = join(dir, 'relay.yaml');
  writeFileSync(
    config,
    [
      `server: { port: ${port}, opsPort: ${port + 1}, host: 127.0.0.1, opsHost: 127.0.0.1 }`,
      `redis: { url: "${redisUrl}", prefix: ${prefix} }`,
      `queue: { name: ${prefix} }`,
      'channels:',
      `  webhook: [{ group: ci, trigger: deploys, auth: { scheme: token, token: ${token} } }]`,
      '  teams: [{ account: contoso, clientState: graph-flood-client-state-0123 }]',
      '',
    ].join('\n'),
  );
  const child = spawn('node', [join(root, 'bin', 'relay.js'), 'start', '--config', config], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  for (let i = 0; i < 300; i++) {
    const ready = await fetch(`http://127.0.0.1:${port + 1}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return { child, port };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`the relay from ${root} did not become ready`);
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });
function post(port: number, path: string, body: Buffer, headers: Record<string, string>) {
  return new Promise<{ status: number; ms: number }>((done) => {
    const started = performance.now();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => done({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      },
    );
    req.on('error', () => done({ status: 0, ms: performance.now() - started }));
    req.end(body);
  });
}

const count = (into: Record<number, number>, status: number) => {
  into[status] = (into[status] ?? 0) + 1;
};

async function goodRequests(port: number, label: string, seconds: number): Promise<void> {
  const ms: number[] = [];
  const statuses: Record<number, number> = {};
  const body = Buffer.from('{"n":1}');
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  for (const end = performance.now() + seconds * 1000; performance.now() < end; await sleep(50)) {
    const r = await post(port, '/webhook/ci/deploys', body, headers);
    ms.push(r.ms);
    count(statuses, r.status);
  }
  ms.sort((a, b) => a - b);
  const q = (p: number) => (ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? 0).toFixed(1);
  console.log(
    `${label}: n=${ms.length} p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms; statuses ${JSON.stringify(statuses)}`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'graph-flood-'));
const { child, port } = await startRelay(dir);
try {
  await goodRequests(port, 'good requests, no flood', 5);
  const floodStatuses: Record<number, number> = {};
  let flooding = true;
  const flood = (async () => {
    const sent: Promise<void>[] = [];
    const headers = { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' };
    while (flooding) {
      sent.push(
        post(port, '/teams/contoso/notifications', floodBody, headers).then((r) =>
          count(floodStatuses, r.status),
        ),
      );
      await sleep(1000 / floodPerSec);
    }
    await Promise.all(sent);
  })();
  await sleep(2000);
  const kb = Math.round(floodBody.length / 1024);
  await goodRequests(port, `good requests, ${floodPerSec}/s unsigned ${kb} KB bodies at Graph`, floodSeconds);
  flooding = false;
  await flood;
  console.log(`flood answers: ${JSON.stringify(floodStatuses)}`);
} finally {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  agent.destroy();
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
