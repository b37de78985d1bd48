import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayEvent } from '../src/queue/envelope.js';
import { runRelay, writeConfig } from './support/process.js';
import { redisUrl, startTestRelay, type TestRelay } from './support/relay.js';
import { until } from './support/until.js';

const adminToken = 'admin-token-replay-states-01';
const relays: TestRelay[] = [];
afterEach(async () => {
  for (const t of relays.splice(0)) await t.close();
});

/**
 * A relay whose queue holds 3 completed, 2 failed and 4 waiting events (a worker that fails the
 * events marked so, stopped before the last four arrive); returns their ids.
 */
async function seedMix(): Promise<{ t: TestRelay; ids: string[]; config: string }> {
  const raw = {
    admin: { token: adminToken },
    queue: { attempts: 1 },
    channels: { webhook: [{ group: 'open', trigger: 'ping', auth: { scheme: 'none' } }] },
  };
  const t = await startTestRelay(raw);
  relays.push(t);
  let sent = 0;
  // Each a distinct event: identical keyless bodies within 10 minutes would be one (a retry).
  const send = async (payload: object) => {
    const res = await t.post('/webhook/open/ping', JSON.stringify(payload), {
      'content-type': 'application/json',
      'idempotency-key': `replay-states-${++sent}`,
    });
    return ((await res.json()) as { ids: string[] }).ids[0] as string;
  };
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker<RelayEvent>(
    'relay-events',
    async (job) => {
      if ((job.data.data.payload as { fail?: boolean }).fail) throw new Error('worker refused it');
    },
    { connection, prefix: t.prefix },
  );
  const ids: string[] = [];
  for (const fail of [false, false, false, true, true]) ids.push(await send({ fail }));
  await until(async () => {
    const counts = await t.queue().getJobCounts('completed', 'failed');
    return counts.completed === 3 && counts.failed === 2;
  });
  await worker.close();
  await connection.quit();
  for (let i = 0; i < 4; i++) ids.push(await send({ later: i }));
  const config = writeConfig({ ...raw, redis: { url: redisUrl, prefix: t.prefix } });
  return { t, ids, config };
}

describe('replay: the dry run counts what the real run replays', () => {
  it('POST /admin/replay: same count with and without dryRun, waiting events skipped and named', async () => {
    const { t, ids } = await seedMix();
    const replay = async (body: object) => {
      const res = await fetch(`${t.opsUrl}/admin/replay`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    // No state given: what can be replayed, not every state.
    const dryFilter = await replay({ dryRun: true });
    expect(dryFilter).toMatchObject({ status: 200, body: { count: 5 } });

    const dryIds = await replay({ ids, dryRun: true });
    expect(dryIds.body.count).toBe(5);
    const skipped = dryIds.body.skipped as Array<{ id: string; state: string; reason: string }>;
    expect(skipped.map((s) => s.id).sort()).toEqual(ids.slice(5).sort());
    expect(skipped[0]?.reason).toBe(
      'waiting (not processed yet, a worker will still receive it); only completed or failed events can be replayed',
    );

    const real = await replay({ ids });
    expect(real.status).toBe(200);
    expect(real.body.count).toBe(dryIds.body.count);
    expect((real.body.skipped as unknown[]).length).toBe(4);

    const refused = await replay({ state: 'waiting', dryRun: true });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe(
      'state waiting: cannot replay events that are waiting (not processed yet, a worker will still receive it); only completed or failed events can be replayed',
    );
    // One waiting event on its own: 409, with the same reason.
    const single = await fetch(`${t.opsUrl}/admin/events/${ids[8]}/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(single.status).toBe(409);
    expect(((await single.json()) as { error: string }).error).toContain(
      `event ${ids[8]} in relay-events is waiting`,
    );
  });

  it('relay events replay: --dry-run counts what the real run replays; --state waiting is refused in one line', async () => {
    const { ids, config } = await seedMix();
    const dry = runRelay(['events', 'replay', ...ids, '--dry-run', '--json', '--config', config]);
    const dryOut = JSON.parse(dry.stdout) as { count: number; skipped: unknown[] };
    expect(dryOut.count).toBe(5);
    expect(dryOut.skipped).toHaveLength(4);

    const real = runRelay(['events', 'replay', ...ids, '--json', '--config', config]);
    expect(real.stderr).toContain(
      `relay: event ${ids[5]} in relay-events is waiting (not processed yet, a worker will still receive it); only completed or failed events can be replayed; skipped`,
    );
    expect((JSON.parse(real.stdout) as { count: number }).count).toBe(dryOut.count);
    expect(real.status).toBe(1); // some named events were not replayed

    const waiting = runRelay(['events', 'replay', '--state', 'waiting', '--dry-run', '--config', config]);
    expect(waiting.status).toBe(1);
    expect(waiting.stdout).toBe('');
    expect(waiting.stderr).toBe(
      'relay: --state waiting: cannot replay events that are waiting (not processed yet, a worker will still receive it); only completed or failed events can be replayed\n',
    );
    const help = runRelay(['events', 'replay', '--help']);
    const stateLine = help.stdout.split('\n').find((l) => l.includes('--state')) ?? '';
    expect(stateLine).toContain('completed or failed');
    expect(stateLine).not.toMatch(/waiting,|active,|delayed,/);
  });
});
