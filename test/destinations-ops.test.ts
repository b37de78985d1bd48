import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDestination } from './fakes/destination.js';
import { runCli } from './ops-cli-harness.js';
import { runRelay, writeConfig } from './support/process.js';
import { redisUrl, startTestRelay, type TestRelay, uniquePrefix } from './support/relay.js';
import { until } from './support/until.js';

/** `relay check` and `relay doctor` (built CLI, as processes) for destinations; `relay events replay` finds their jobs. */
const secret = `whsec_${randomBytes(24).toString('base64')}`;
const up = new FakeDestination();
const broken = new FakeDestination();
let t: TestRelay;
let configPath: string;
let goneUrl: string;

beforeAll(async () => {
  await up.start();
  await broken.start();
  const gone = await new FakeDestination().start();
  goneUrl = gone.url;
  await gone.stop();
  const prefix = uniquePrefix('dest-ops');
  const raw = {
    queue: { attempts: 1 },
    channels: { webhook: [{ group: 'g', trigger: 't', auth: { scheme: 'none' } }] },
    destinations: [
      { name: 'up', url: up.url, secret },
      { name: 'broken', url: broken.url, secret },
      { name: 'gone', url: goneUrl, secret, timeoutMs: 500 },
    ],
  };
  t = await startTestRelay(raw, { prefix });
  configPath = writeConfig({ ...raw, redis: { url: redisUrl, prefix } });
});
afterAll(async () => {
  await t.close();
  await up.stop();
  await broken.stop();
});

describe('destinations: check, doctor, replay', () => {
  it('relay check --online sends nothing to a destination; --destinations sends one OPTIONS each', async () => {
    const quiet = await runCli(['check', '--config', configPath, '--online']);
    expect(quiet.stdout).toContain(`destination up: ${new URL(up.url).host}, 1 secret(s), concurrency 4`);
    expect(quiet.stdout).not.toContain(secret);
    expect(up.received).toEqual([]);
    expect(quiet.status).toBe(0);

    const asked = await runCli(['check', '--config', configPath, '--destinations']);
    expect(up.received.map((r) => r.method)).toEqual(['OPTIONS']);
    expect(asked.stdout).toMatch(/destination up: .*\n {2}online: ok: .* answers \(HTTP 200 to OPTIONS\)/);
    expect(asked.stdout).toMatch(
      /destination gone: .*\n {2}online: problem: .* does not answer: connection refused/,
    );
    expect(asked.status).toBe(1);
  });

  it('relay doctor says which destination fails, why, and how to replay what failed', async () => {
    broken.reply = (r) => (r.method === 'POST' ? { status: 503, body: 'maintenance' } : { status: 405 });
    const res = await t.post('/webhook/g/t', '{"n":1}', {
      'content-type': 'application/json',
      'idempotency-key': 'k1',
    });
    const id = ((await res.json()) as { ids: string[] }).ids[0] as string;
    await until(async () => (await t.queue('broken').getFailedCount()) === 1);
    await until(async () => (await t.queue('up').getCompletedCount()) === 1);

    const out = await runCli(['doctor', '--config', configPath]);
    const lines = out.stdout.split('\n');
    expect(lines).toContainEqual(
      expect.stringMatching(/^ok +destination up: .*answers \(HTTP 200 to OPTIONS\)$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^ok +destination broken: .*answers \(HTTP 405 to OPTIONS\)$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^problem +destination broken: the last delivery failed \\(.*, event ${id}\\): HTTP 503: maintenance`,
        ),
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^warning +destination broken: 1 event\(s\) failed for good; .*relay events replay --state failed/,
      ),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^problem +destination gone: .*does not answer/));
    expect(lines.filter((l) => l.includes('destination up') && !l.startsWith('ok'))).toEqual([]);
    expect(out.status).toBe(1);

    // The failed delivery is found and retried by the CLI like any failed event.
    broken.reply = () => ({ status: 200 });
    // spawnSync: this process's relay waits meanwhile, which replay does not need.
    const replay = runRelay([
      'events',
      'replay',
      '--config',
      configPath,
      '--state',
      'failed',
      '--channel',
      'webhook',
    ]);
    expect(replay.stdout).toContain(`${id}: retried (broken)`);
    await until(async () => (await t.queue('broken').getCompletedCount()) === 1);
    expect(broken.posts.map((p) => p.headers['webhook-id'])).toEqual([id, id]);
  });
});
