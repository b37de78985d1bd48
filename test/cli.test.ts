import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RelayProcess, runRelay, startRelayProcess, writeConfig } from './support/process.js';
import { redisUrl, uniquePrefix } from './support/relay.js';

const prefix = uniquePrefix('cli');
const secrets = ['cli-hmac-secret-1', 'cli-token-secret-2', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'];
const config = writeConfig({
  server: { port: 0, opsPort: 0, host: '127.0.0.1', opsHost: '127.0.0.1' },
  redis: { url: redisUrl, prefix },
  channels: {
    webhook: [
      {
        group: 'billing',
        trigger: 'invoices',
        auth: { scheme: 'hmac-sha256', secrets: [secrets[0]], prefix: 'sha256=' },
      },
      { group: 'ci', trigger: 'deploys', auth: { scheme: 'token', token: secrets[1] } },
      { group: 'std', trigger: 'events', auth: { scheme: 'standard-webhooks', secrets: [secrets[2]] } },
    ],
  },
});

let relay: RelayProcess;
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue('relay-events', { connection, prefix });

beforeAll(async () => {
  relay = await startRelayProcess(['--config', config]);
});
afterAll(async () => {
  relay.child.kill('SIGTERM');
  await relay.exited;
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  await connection.quit();
});

describe('relay check', () => {
  it('prints a valid config without a single secret', () => {
    const out = runRelay(['check', '--config', config]);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('webhook billing/invoices: ok');
    expect(out.stdout).toContain('ingest journal: off (jobs made before the 2xx)');
    for (const s of secrets) expect(out.stdout + out.stderr).not.toContain(s);
  });

  it('says how requests are acknowledged when the ingest journal is on', () => {
    const journaled = writeConfig({
      redis: { url: redisUrl, prefix },
      queue: { journal: { enabled: true, maxBacklog: 5000 } },
      channels: {
        webhook: [{ group: 'ci', trigger: 'deploys', auth: { scheme: 'token', token: secrets[1] } }],
      },
    });
    const out = runRelay(['check', '--config', journaled]);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain(
      'ingest journal: on (requests acknowledged on one XADD; pump in its own thread, batches of 500; 503 past 5000 entries not yet jobs)',
    );
  });

  it('lists every problem and exits 1 before anything listens', () => {
    const bad = writeConfig({
      server: { port: 'x' },
      channels: {
        webhook: [
          { group: 'g', trigger: 't', auth: { scheme: 'token', token: 'bad-secret-value', oops: 1 } },
        ],
      },
    });
    const out = runRelay(['check', '--config', bad]);
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('relay: invalid configuration');
    expect(out.stderr).toContain('server.port: Invalid input');
    expect(out.stderr).toContain('channels.webhook.0.auth: Unrecognized key: "oops"');
    expect(out.stderr).not.toContain('bad-secret-value');
    const start = runRelay(['start', '--config', bad]);
    expect(start.status).toBe(1);
    expect(start.stdout).toBe('');
  });

  it('names a missing config file', () => {
    const out = runRelay(['check', '--config', '/nonexistent/relay.yaml']);
    expect(out.status).toBe(1);
    expect(out.stderr.trim()).toBe(
      'relay: invalid configuration\n  /nonexistent/relay.yaml: config file not found (pass --config FILE or set RELAY_CONFIG)',
    );
  });
});

describe('relay start without Redis', () => {
  it('exits 1 with one line naming the URL and how to get Redis', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-noredis-'));
    const out = runRelay(['start'], { REDIS_URL: 'redis://127.0.0.1:1', PORT: '0', OPS_PORT: '0' }, cwd);
    expect(out.status).toBe(1);
    const lines = out.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^relay: no Redis answers at redis:\/\/127\.0\.0\.1:1: start one with "docker compose up -d redis"/,
    );
  });
});

describe('relay sign, events list, show and replay', () => {
  it('prints curl lines that the relay accepts, for every scheme', () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-sign-'));
    const bodyFile = join(dir, 'body.json');
    writeFileSync(bodyFile, '{"invoice":"in_cli","name":"Ren\\u00e9e"}');
    for (const target of ['billing/invoices', 'ci/deploys', 'std/events']) {
      const out = runRelay([
        'sign',
        target,
        '--data',
        `@${bodyFile}`,
        '--config',
        config,
        '--url',
        relay.publicUrl,
      ]);
      expect(out.status).toBe(0);
      const curl = out.stdout
        .replace(/\\\n\s*/g, '')
        .replace(/^curl -i /, 'curl -s -o /dev/null -w %{http_code} ');
      const status = execFileSync('sh', ['-c', curl], { encoding: 'utf8' });
      expect(status).toBe('202');
    }
  });

  it('lists, shows and replays events from the command line', async () => {
    const res = await fetch(`${relay.publicUrl}/webhook/ci/deploys`, {
      method: 'POST',
      body: '{"deploy":"v1"}',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secrets[1]}` },
    });
    const [id] = ((await res.json()) as { ids: string[] }).ids;
    const list = runRelay(['events', 'list', '--config', config, '--channel', 'webhook', '--since', '10m']);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/^RECEIVED\s+ID\s+STATE/);
    expect(list.stdout).toContain(id);
    const json = JSON.parse(
      runRelay(['events', 'list', '--config', config, '--json', '--account', 'ci/deploys']).stdout,
    ) as Array<{ id: string }>;
    expect(json.map((e) => e.id)).toContain(id);
    const show = JSON.parse(
      runRelay(['events', 'show', id as string, '--config', config, '--json']).stdout,
    ) as Array<{ state: string; event: { data: { payload: unknown } } }>;
    expect(show[0]?.event.data.payload).toEqual({ deploy: 'v1' });

    const waiting = runRelay(['events', 'replay', id as string, '--config', config]);
    expect(waiting.status).toBe(1);
    expect(waiting.stderr).toMatch(
      /in relay-events is waiting \(not processed yet, a worker will still receive it\); only completed or failed events can be replayed; skipped/,
    );

    const dry = runRelay(['events', 'replay', '--state', 'failed', '--dry-run', '--config', config]);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/^\d+ event\(s\) would be replayed \(dry run; nothing enqueued\)/);
    expect(runRelay(['events', 'list', '--config', config, '--since', 'soon']).stderr).toContain(
      '--since soon: use a duration',
    );
  });
});
