import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayEvent } from '../src/queue/envelope.js';
import { readBody } from './fakes/http.js';
import { relayBin, writeConfig } from './support/process.js';
import { startTestRelay, type TestRelay, uniquePrefix } from './support/relay.js';
import { readSse } from './support/sse.js';
import { startTcpProxy } from './support/tcp-proxy.js';
import { until } from './support/until.js';

const token = 'listen-admin-token-0123456789';
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const rawConfig = (opsPort = 0) => ({
  server: { opsPort },
  admin: { token },
  channels: {
    webhook: ['ping', 'since', 'other'].map((trigger) => ({
      group: 'open',
      trigger,
      auth: { scheme: 'none' },
    })),
  },
  routes: [{ match: { trigger: 'open/ping' }, queues: ['copies'] }],
});

/** A local HTTP target on port 0 that records what it is sent and answers 204. */
interface Target {
  readonly url: string;
  readonly received: Array<{ headers: IncomingHttpHeaders; body: string }>;
  ids(): string[];
  close(): Promise<void>;
}
async function startTarget(): Promise<Target> {
  const received: Target['received'] = [];
  const server: Server = createServer(async (req, res) => {
    received.push({ headers: req.headers, body: await readBody(req) });
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    ids: () => received.map((r) => (JSON.parse(r.body) as RelayEvent).id),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

interface ListenProcess {
  readonly child: ChildProcess;
  readonly stdout: string[];
  stderr(): string;
  /** SIGINT, then the exit code. */
  interrupt(): Promise<number | null>;
}
/** `relay listen` as a child process; resolves once it says it is listening. */
function startListen(args: string[], env: Record<string, string> = {}): Promise<ListenProcess> {
  const child = spawn(process.execPath, [relayBin, 'listen', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RELAY_OPS_URL: '', RELAY_ADMIN_TOKEN: '', RELAY_CONFIG: '', ...env },
  });
  const stdout: string[] = [];
  let stderr = '';
  let buffer = '';
  child.stdout?.on('data', (d) => {
    buffer += String(d);
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    stdout.push(...lines);
  });
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const running: ListenProcess = {
    child,
    stdout,
    stderr: () => stderr,
    async interrupt() {
      child.kill('SIGINT');
      return exited;
    },
  };
  return Promise.race([
    until(() => stderr.includes('relay: listening to'), 15_000, 'relay listen started').then(() => running),
    exited.then((code) => {
      throw new Error(`relay listen exited with ${code}: ${stderr}`);
    }),
  ]);
}

let relay: TestRelay;
let target: Target;

beforeAll(async () => {
  relay = await startTestRelay(rawConfig());
  target = await startTarget();
});
afterAll(async () => {
  await relay?.close();
  await target?.close();
});

let posted = 0;
/** Each post a distinct event: identical keyless bodies within 10 minutes would be one (a retry). */
const post = async (t: TestRelay, trigger: string, body: unknown): Promise<string> => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await t.post(`/webhook/open/${trigger}`, text, {
    'content-type': 'application/json',
    'idempotency-key': `listen-${process.pid}-${++posted}`,
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { ids: string[] }).ids[0] as string;
};

describe('GET /admin/listen', () => {
  it.each([
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer not-the-admin-token-0000' }],
  ])('answers 401 with %s', async (_what, headers) => {
    const res = await fetch(`${relay.opsUrl}/admin/listen`, { headers });
    expect(res.status).toBe(401);
  });

  it('streams each enqueued event once (also when routes copy it), with a resumable id; filters apply', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const all = new AbortController();
    const slackOnly = new AbortController();
    const stream = await fetch(`${relay.opsUrl}/admin/listen?type=webhook.received`, {
      headers: auth,
      signal: all.signal,
    });
    const filtered = await fetch(`${relay.opsUrl}/admin/listen?type=slack.*`, {
      headers: auth,
      signal: slackOnly.signal,
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const id = await post(relay, 'ping', { n: 1 });
    const text = await readSse(stream.body as ReadableStream<Uint8Array>, (t) => t.includes(id));
    expect(text).toMatch(/^retry: \d+\nid: [\w%-]+@\d+-\d+(,[\w%-]+@\d+-\d+)+\n\n/);
    const events = text.split('\n\n').filter((m) => m.includes('\ndata: '));
    expect(events).toHaveLength(1);
    const [, position, data] = /^id: (.+)\ndata: (.+)$/.exec(events[0] as string) ?? [];
    expect(position).toMatch(/relay-events@\d+-\d+/);
    expect(position).toMatch(/copies@\d+-\d+/);
    expect(JSON.parse(data as string)).toMatchObject({ id, specversion: '1.0', data: { payload: { n: 1 } } });
    // The envelope text exactly as the job stores it (no re-serialisation on the way).
    const stored = await relay.relay.redis.hget(`${relay.prefix}:relay-events:${id}`, 'data');
    expect(data).toBe(stored);
    all.abort();

    // The slack-only stream got the start position and id-only updates, never the event.
    const other = await readSse(
      filtered.body as ReadableStream<Uint8Array>,
      (t) => t.split('\nid: ').length > 1,
    );
    slackOnly.abort();
    expect(other).not.toContain('data:');
    // Listening consumed nothing: the events wait for a worker in both queues.
    expect(await relay.queue().getJobState(id)).toBe('waiting');
    expect(await relay.queue('copies').getJobState(id)).toBe('waiting');
  });

  it('answers 400 to a Last-Event-ID it did not send, and to a bad since', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const bad = await fetch(`${relay.opsUrl}/admin/listen`, {
      headers: { ...auth, 'last-event-id': 'nonsense' },
    });
    expect(bad.status).toBe(400);
    const since = await fetch(`${relay.opsUrl}/admin/listen?since=yesterday`, { headers: auth });
    expect(since.status).toBe(400);
    expect(await since.text()).toContain('since');
  });
});

describe('relay listen', () => {
  it('POSTs each new event, signed (verified by the standardwebhooks library), prints a line each; SIGINT exits 0', async () => {
    const before = await post(relay, 'ping', { before: true });
    const listen = await startListen([
      '--forward-to',
      target.url,
      '--url',
      relay.opsUrl,
      '--token',
      token,
      '--secret',
      secret,
    ]);
    const ids = [await post(relay, 'ping', { n: 1 }), await post(relay, 'other', { n: 2 })];
    await until(() => target.received.length >= 2, 15_000, 'two events forwarded');
    expect(await listen.interrupt()).toBe(0);
    expect(target.ids()).toEqual(ids);
    expect(target.ids()).not.toContain(before);
    for (const { headers, body } of target.received.splice(0)) {
      expect(headers['content-type']).toBe('application/cloudevents+json');
      expect(headers['user-agent']).toMatch(/^Relay\//);
      expect(headers['webhook-id']).toBe(JSON.parse(body).id);
      const verified = new Webhook(secret).verify(body, {
        'webhook-id': String(headers['webhook-id']),
        'webhook-timestamp': String(headers['webhook-timestamp']),
        'webhook-signature': String(headers['webhook-signature']),
      });
      expect(verified).toMatchObject({ specversion: '1.0' });
      expect(() =>
        new Webhook('whsec_dGhlIHdyb25nIHNlY3JldCBmb3IgdGhpcyB0ZXN0').verify(body, {
          'webhook-id': String(headers['webhook-id']),
          'webhook-timestamp': String(headers['webhook-timestamp']),
          'webhook-signature': String(headers['webhook-signature']),
        }),
      ).toThrow();
    }
    expect(listen.stdout[0]).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d {2}webhook/open/ping {2}webhook\\.received {2}${ids[0]} {2}→ 204 {2}\\d+ ms$`,
      ),
    );
    expect(listen.stderr()).toContain('stopped; 2 event(s) forwarded');
  });

  it('--since replays the past; --account and --type filter', async () => {
    const past = [await post(relay, 'since', { n: 1 }), await post(relay, 'since', { n: 2 })];
    await post(relay, 'other', { n: 3 });
    const auth = ['--url', relay.opsUrl, '--token', token];
    const listen = await startListen([
      '--forward-to',
      target.url,
      ...auth,
      '--since',
      '10m',
      '--account',
      'open/since',
    ]);
    const none = await startListen([
      '--forward-to',
      `${target.url}?none`,
      ...auth,
      '--since',
      '10m',
      '--type',
      'slack.*',
    ]);
    const live = await post(relay, 'since', { n: 4 });
    await until(() => target.received.length >= 3, 15_000, 'past and live events forwarded');
    await new Promise((r) => setTimeout(r, 300));
    expect(await listen.interrupt()).toBe(0);
    expect(await none.interrupt()).toBe(0);
    expect(target.ids()).toEqual([...past, live]);
    target.received.splice(0);
  });

  it('a local target that is down: prints the failure and goes on', async () => {
    const closed = await startTarget();
    await closed.close();
    const listen = await startListen(['--forward-to', closed.url, '--url', relay.opsUrl, '--token', token]);
    const id = await post(relay, 'other', { n: 1 });
    await until(() => listen.stdout.length >= 1, 15_000, 'a line printed');
    expect(listen.stdout[0]).toMatch(
      new RegExp(`${id} {2}→ failed \\(fetch failed: .*ECONNREFUSED.*\\) {2}\\d+ ms$`),
    );
    expect(await listen.interrupt()).toBe(0);
  });

  it('takes the ops port and admin token from --config, or RELAY_OPS_URL and RELAY_ADMIN_TOKEN', async () => {
    const config = writeConfig({
      server: { opsPort: Number(new URL(relay.opsUrl).port), opsHost: '127.0.0.1' },
      admin: { token },
    });
    const fromConfig = await startListen(['--forward-to', target.url, '--config', config]);
    expect(fromConfig.stderr()).toContain(`listening to ${relay.opsUrl}`);
    expect(await fromConfig.interrupt()).toBe(0);
    const fromEnv = await startListen(['--forward-to', target.url], {
      RELAY_OPS_URL: relay.opsUrl,
      RELAY_ADMIN_TOKEN: token,
    });
    const id = await post(relay, 'other', { env: true });
    await until(() => target.ids().includes(id), 15_000, 'forwarded with env settings');
    expect(await fromEnv.interrupt()).toBe(0);
    target.received.splice(0);
  });

  it('exits 1 with one line when the token is wrong', async () => {
    const child = spawn(
      process.execPath,
      [
        relayBin,
        'listen',
        '--forward-to',
        target.url,
        '--url',
        relay.opsUrl,
        '--token',
        'wrong-token-000000',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    expect(await new Promise((r) => child.once('exit', r))).toBe(1);
    expect(stderr).toMatch(/^relay: http:\/\/127\.0\.0\.1:\d+ refused the stream: admin token required/);
  });
});

describe('relay listen across drops: nothing missed, nothing twice', () => {
  it('a cut connection is resumed from the last position', async () => {
    const proxy = await startTcpProxy(relay.opsUrl);
    const local = await startTarget();
    const listen = await startListen(['--forward-to', local.url, '--url', proxy.url, '--token', token]);
    try {
      const ids = [await post(relay, 'ping', { n: 1 }), await post(relay, 'other', { n: 2 })];
      await until(() => local.received.length >= 2, 15_000, 'events before the cut');
      proxy.cut();
      // Enqueued while the listener is cut off: it must get them after it reconnects.
      ids.push(await post(relay, 'ping', { n: 3 }), await post(relay, 'since', { n: 4 }));
      await until(() => listen.stderr().includes('stream lost'), 15_000, 'the drop noticed');
      proxy.accept();
      ids.push(await post(relay, 'other', { n: 5 }));
      await until(() => local.received.length >= 5, 20_000, 'events after the cut');
      await new Promise((r) => setTimeout(r, 300));
      expect(listen.stderr()).toContain('reconnected');
      expect(local.ids()).toEqual(ids);
    } finally {
      expect(await listen.interrupt()).toBe(0);
      await proxy.close();
      await local.close();
    }
  });

  it('a relay restarted on the same ops address is resumed; events another replica took meanwhile arrive', async () => {
    const prefix = uniquePrefix('listen');
    let listened = await startTestRelay(rawConfig(), { prefix });
    const other = await startTestRelay(rawConfig(), { prefix });
    const opsPort = Number(new URL(listened.opsUrl).port);
    const local = await startTarget();
    const listen = await startListen(['--forward-to', local.url, '--url', listened.opsUrl, '--token', token]);
    try {
      const ids = [await post(listened, 'ping', { n: 1 })];
      await until(() => local.received.length >= 1, 15_000, 'event before the restart');
      await listened.relay.close(); // not TestRelay.close: that would delete the shared keys
      ids.push(await post(other, 'ping', { n: 2 }), await post(other, 'other', { n: 3 }));
      await until(() => listen.stderr().includes('stream lost'), 15_000, 'the drop noticed');
      listened = await startTestRelay(rawConfig(opsPort), { prefix });
      ids.push(await post(other, 'since', { n: 4 }));
      await until(() => local.received.length >= 4, 30_000, 'events after the restart');
      await new Promise((r) => setTimeout(r, 300));
      expect(local.ids()).toEqual(ids);
    } finally {
      expect(await listen.interrupt()).toBe(0);
      await local.close();
      await other.relay.close();
      await listened.close();
    }
  });
});
