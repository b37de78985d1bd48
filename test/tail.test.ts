import { type ChildProcess, spawn } from 'node:child_process';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStandardWebhook } from '../src/verify/standard-webhooks.js';
import { type RelayProcess, relayBin, runRelay, startRelayProcess, writeConfig } from './support/process.js';
import { redisUrl, uniquePrefix } from './support/relay.js';
import { until } from './support/until.js';

const prefix = uniquePrefix('tail');
const config = writeConfig({
  server: { port: 0, opsPort: 0, host: '127.0.0.1', opsHost: '127.0.0.1' },
  redis: { url: redisUrl, prefix },
  channels: { webhook: [{ group: 'open', trigger: 'ping', auth: { scheme: 'none' } }] },
  routes: [{ match: { trigger: 'open/ping' }, queues: ['copies'] }],
});

let relay: RelayProcess;
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });

beforeAll(async () => {
  relay = await startRelayProcess(['--config', config]);
});
afterAll(async () => {
  relay.child.kill('SIGTERM');
  await relay.exited;
  for (const name of ['relay-events', 'copies']) {
    const q = new Queue(name, { connection, prefix });
    await q.obliterate({ force: true }).catch(() => {});
    await q.close();
  }
  const keys = await connection.keys(`${prefix}:*`);
  if (keys.length) await connection.del(...keys);
  await connection.quit();
});

/** `relay tail` as a child; resolves once it says it is listening. */
function startTail(
  args: string[],
): Promise<{ child: ChildProcess; lines: string[]; next(n: number): Promise<string[]> }> {
  const child = spawn(process.execPath, [relayBin, 'tail', '--config', config, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buffer = '';
  const waiters: Array<() => void> = [];
  child.stdout?.on('data', (d) => {
    buffer += String(d);
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  const next = (n: number) =>
    new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`tail printed ${lines.length} lines: ${lines.join('\n')}`)),
        10_000,
      );
      const check = () => {
        if (lines.length >= n) {
          clearTimeout(timer);
          resolve(lines.slice(0, n));
        } else waiters.push(check);
      };
      check();
    });
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`tail did not start: ${stderr}`)), 15_000);
    child.stderr?.on('data', (d) => {
      stderr += String(d);
      if (stderr.includes('tailing')) {
        clearTimeout(timer);
        resolve({ child, lines, next });
      }
    });
  });
}

const stop = async (child: ChildProcess) => {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  return exited;
};

const post = (
  path: string,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) => fetch(`${relay.publicUrl}${path}`, { method: 'POST', body, headers });

describe('relay tail', () => {
  it('prints one line per event as it is enqueued, once even when routes copy it to another queue', async () => {
    const tail = await startTail([]);
    try {
      await post('/webhook/open/ping', '{"text":"deploy finished"}');
      await post('/webhook/open/ping', 'plain words here', { 'content-type': 'text/plain' });
      const lines = await tail.next(2);
      expect(lines[0]).toMatch(
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}webhook\/open\/ping {2}webhook\.received {2}\{"text":"deploy finished"\} {2}\(webhook-[\w~-]+\)$/,
      );
      expect(lines[1]).toContain('{"text":"plain words here"}');
      await new Promise((r) => setTimeout(r, 300));
      expect(tail.lines).toHaveLength(2);
    } finally {
      expect(await stop(tail.child)).toBe(0);
    }
  });

  it('--json prints the envelope per line; --channel filters', async () => {
    const json = await startTail(['--json', '--channel', 'webhook']);
    const other = await startTail(['--channel', 'slack']);
    try {
      const res = await post('/webhook/open/ping', '{"n":42}');
      const [id] = ((await res.json()) as { ids: string[] }).ids;
      const [line] = await json.next(1);
      expect(JSON.parse(line as string)).toMatchObject({
        id,
        specversion: '1.0',
        data: { payload: { n: 42 } },
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(other.lines).toEqual([]);
    } finally {
      await stop(json.child);
      await stop(other.child);
    }
  });
});

describe('relay triggers (a second process: the running relay sees changes within a second)', () => {
  const body = '{"run":"time"}';
  const signed = (secret: string) => {
    const id = `msg_${Math.random().toString(36).slice(2)}`;
    const ts = Math.floor(Date.now() / 1000);
    return {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signStandardWebhook(secret, id, ts, body),
    };
  };
  async function statusWithin(ms: number, secret: string, want: number): Promise<void> {
    const end = Date.now() + ms;
    let last = 0;
    while (Date.now() < end) {
      last = (await post('/webhook/cli/made', body, signed(secret))).status;
      if (last === want) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`still ${last}, wanted ${want}`);
  }

  it('create shows the secret once; list never; rotate keeps the old one for --grace; delete stops it', async () => {
    const created = runRelay(['triggers', 'create', 'cli/made', '--config', config]);
    expect(created.status).toBe(0);
    const secret = /secret: (whsec_\S+)/.exec(created.stdout)?.[1] as string;
    expect(secret).toBeDefined();
    expect(created.stdout).toContain('url:    /webhook/cli/made');
    await statusWithin(1000, secret, 202);

    const again = runRelay(['triggers', 'create', 'cli/made', '--config', config]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^relay: trigger cli\/made already exists; rotate/);
    const readOnly = runRelay(['triggers', 'delete', 'open/ping', '--config', config]);
    expect(readOnly.stderr).toMatch(/open\/ping is defined in the config file; change it there/);

    const list = runRelay(['triggers', 'list', '--config', config]);
    expect(list.stdout).toMatch(/^TRIGGER\s+SOURCE\s+SCHEME/);
    expect(list.stdout).toMatch(/open\/ping\s+config\s+none/);
    expect(list.stdout).toMatch(/cli\/made\s+runtime\s+standard-webhooks\s+current/);
    expect(list.stdout).not.toContain(secret);

    const rotated = runRelay(['triggers', 'rotate', 'cli/made', '--grace', '1h', '--config', config]);
    const fresh = /secret: (whsec_\S+)/.exec(rotated.stdout)?.[1] as string;
    expect(fresh).not.toBe(secret);
    expect(rotated.stdout).toContain('the previous secret stays valid until');
    await statusWithin(1000, fresh, 202);
    expect((await post('/webhook/cli/made', body, signed(secret))).status).toBe(202);
    expect(runRelay(['triggers', 'list', '--config', config]).stdout).toMatch(/current, until \d{4}-/);

    expect(runRelay(['triggers', 'delete', 'cli/made', '--config', config]).stdout).toBe(
      'deleted trigger cli/made\n',
    );
    await statusWithin(1000, fresh, 404);
    expect(relay.stdout.join('\n')).not.toContain(fresh);
    expect(relay.stdout.join('\n')).not.toContain(secret);
  });

  it('replay --dry-run prints the count and a sample of ids', async () => {
    // Only finished events can be replayed: let a worker complete what the tests above queued.
    const worker = new Worker('relay-events', async () => {}, { connection, prefix });
    const queue = new Queue('relay-events', { connection, prefix });
    await until(async () => {
      const counts = await queue.getJobCounts('wait', 'active', 'completed');
      return counts.wait === 0 && counts.active === 0 && (counts.completed ?? 0) > 0;
    });
    await Promise.all([worker.close(), queue.close()]);
    expect(
      runRelay(['events', 'replay', '--state', 'waiting,completed', '--dry-run', '--config', config]).stderr,
    ).toMatch(/^relay: --state waiting: cannot replay events that are waiting \(not processed yet/);
    const dry = runRelay([
      'events',
      'replay',
      '--state',
      'completed',
      '--dry-run',
      '--rate',
      '2/s',
      '--config',
      config,
    ]);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(
      /^\d+ event\(s\) would be replayed \(dry run; nothing enqueued\), about \d+s at 2\/s\n {2}webhook-/,
    );
    expect(
      runRelay(['events', 'replay', '--state', 'failed', '--rate', 'fast', '--config', config]).stderr,
    ).toContain('--rate fast: use a rate such as 10/s');
  });
});
