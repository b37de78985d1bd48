import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestRelay, type TestRelay } from '../support/relay.js';
import { until } from '../support/until.js';
import { adapt, freePort, type Nginx, selfSignedCert, startNginx } from './nginx-harness.js';

/**
 * The documented ops access (docs/deploy/nginx-vm-ops.conf), for real: a `relay listen` stream
 * through nginx stays open past a minute, with heartbeats flowing and events passed on at once.
 */
const host = 'relay-ops.example.internal';
const token = 'admin-token-for-the-listen-proof-0123';

let t: TestRelay;
let nginx: Nginx;
let port: number;
let pem: string;

beforeAll(async () => {
  t = await startTestRelay({
    admin: { token },
    channels: { webhook: [{ group: 'open', trigger: 'ping', auth: { scheme: 'none' } }] },
  });
  const dir = mkdtempSync(join(tmpdir(), 'relay-ops-tls-'));
  const cert = selfSignedCert(dir, host);
  pem = cert.pem;
  port = await freePort();
  const conf = adapt(readFileSync(new URL('../../docs/deploy/nginx-vm-ops.conf', import.meta.url), 'utf8'), [
    ['listen 10.8.0.1:9443 ssl;', `listen 127.0.0.1:${port} ssl;`],
    ['server 127.0.0.1:9090;', `server 127.0.0.1:${new URL(t.opsUrl).port};`],
    ['allow 10.8.0.0/24;', 'allow 127.0.0.0/8;'],
    ['/etc/nginx/tls/relay-ops.crt', cert.cert],
    ['/etc/nginx/tls/relay-ops.key', cert.key],
  ]);
  nginx = await startNginx(conf, port);
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  await t?.close();
});

const post = async (n: number) => {
  const res = await t.post('/webhook/open/ping', JSON.stringify({ n }), {
    'content-type': 'application/json',
  });
  return ((await res.json()) as { ids: string[] }).ids[0] as string;
};

it('a relay listen stream through nginx outlives a minute: heartbeats flow, events pass at once', async () => {
  let text = '';
  let ended = false;
  const req = request({
    host: '127.0.0.1',
    port,
    path: '/admin/listen',
    headers: { host, authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    ca: pem,
    servername: host,
    agent: false,
  });
  req.on('response', (res) => {
    expect(res.statusCode).toBe(200);
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      text += d;
    });
    // A proxy that gives up ends the chunked body early: 'close' without 'end'.
    res.on('close', () => {
      ended = true;
    });
  });
  req.on('error', () => {
    ended = true;
  });
  req.end();
  try {
    await until(() => text.includes('id: '), 10_000, 'the stream opened');
    const first = await post(1);
    // Unbuffered: the event is through nginx within a second or two, not when a buffer fills.
    await until(() => text.includes(first), 3000, 'the first event through nginx');
    const opened = Date.now();
    await new Promise((r) => setTimeout(r, 61_000));
    expect(ended).toBe(false);
    expect(text.split(': keep-alive').length - 1).toBeGreaterThanOrEqual(3);
    const last = await post(2);
    await until(() => text.includes(last), 3000, 'an event after a minute');
    expect(Date.now() - opened).toBeGreaterThan(60_000);
    expect(nginx.errorLog()).not.toMatch(/upstream timed out/);
  } finally {
    req.destroy();
  }
}, 90_000);
