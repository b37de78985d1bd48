import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressLine } from '../src/cli/events.js';
import type { RelayEvent } from '../src/queue/envelope.js';
import { parseRate } from '../src/queue/inspect.js';
import { redisUrl, startTestRelay, type TestRelay } from './support/relay.js';
import { until } from './support/until.js';

const adminToken = 'admin-token-for-replay-01';
let t: TestRelay;
let worker: Worker<RelayEvent>;
let connection: Redis;

const admin = (path: string, body: object) =>
  fetch(`${t.opsUrl}/admin${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
  });

async function send(key: string, payload: object): Promise<string> {
  const res = await t.post('/webhook/open/ping', JSON.stringify(payload), {
    'content-type': 'application/json',
    'idempotency-key': key,
  });
  return ((await res.json()) as { ids: string[] }).ids[0] as string;
}

const completed = (id: string) => until(async () => (await t.queue().getJob(id))?.finishedOn);

beforeAll(async () => {
  t = await startTestRelay({
    admin: { token: adminToken },
    channels: { webhook: [{ group: 'open', trigger: 'ping', auth: { scheme: 'none' } }] },
  });
  connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  worker = new Worker<RelayEvent>('relay-events', async () => {}, { connection, prefix: t.prefix });
});
afterAll(async () => {
  await worker.close();
  await connection.quit();
  await t.close();
});

describe('replay', () => {
  it('a replayed copy says it bypassed dedupe: replayof and replayedat; the original still dedupes', async () => {
    const id = await send('dedupe-me', { n: 1 });
    await completed(id);
    const res = await fetch(`${t.opsUrl}/admin/events/${id}/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const newId = ((await res.json()) as { replayed: Array<{ newId: string }> }).replayed[0]?.newId as string;
    const copy = (await t.queue().getJob(newId))?.data as RelayEvent & { replayedat?: string };
    expect(copy).toMatchObject({ replayof: id, data: { payload: { n: 1 } } });
    expect(Date.parse(copy.replayedat ?? '')).toBeGreaterThan(Date.now() - 10_000);
    expect(Object.keys(copy).filter((k) => !/^[a-z0-9]+$/.test(k))).toEqual([]);
    // The provider redelivering the original is still absorbed by dedupe.
    expect(await send('dedupe-me', { n: 1 })).toBe(id);
    expect((await t.jobs()).filter((e) => e.replayof === id)).toHaveLength(1);
  });

  it('dry run: the count, a sample of ids and the time at the given rate; nothing enqueued', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await send(`dry-${i}`, { dry: i }));
    for (const id of ids) await completed(id);
    const before = (await t.jobs()).length;
    const dry = (await (
      await admin('/replay', { state: 'completed', dryRun: true, rate: '4/s' })
    ).json()) as { count: number; sample: string[]; estimatedSec: number };
    expect(dry.count).toBeGreaterThanOrEqual(12);
    expect(dry.sample).toHaveLength(10);
    expect(dry.estimatedSec).toBe(Math.ceil(dry.count / 4));
    expect((await t.jobs()).length).toBe(before);
  });

  it('rate: a throttled bulk replay is answered 202 at once and paced', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await send(`paced-${i}`, { paced: i }));
    for (const id of ids) await completed(id);
    const started = Date.now();
    const res = await admin('/replay', { ids, rate: 10 });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ count: 5, ratePerSec: 10, estimatedSec: 1, status: 'started' });
    expect(Date.now() - started).toBeLessThan(300);
    const copies = await until(async () => {
      const found = (await t.jobs()).filter((e) => ids.includes(e.replayof ?? ''));
      return found.length === 5 ? found : undefined;
    });
    // Five replays at 10/s: the last starts 400 ms after the first.
    const times = copies.map((e) => Date.parse((e as RelayEvent & { replayedat: string }).replayedat)).sort();
    expect((times[4] as number) - (times[0] as number)).toBeGreaterThanOrEqual(380);
    expect((await admin('/replay', { ids, rate: 'fast' })).status).toBe(400);
  });

  it('parses rates and draws the progress line', () => {
    expect(parseRate('10/s')).toBe(10);
    expect(parseRate('300/m')).toBe(5);
    expect(parseRate('7')).toBe(7);
    expect(parseRate(2.5)).toBe(2.5);
    for (const bad of ['0', '0/s', '-1', 'ten', '5/d', '']) expect(parseRate(bad)).toBeUndefined();
    expect(progressLine(0, 4, 8)).toBe('replaying 0/4 [        ] 0%');
    expect(progressLine(3, 4, 8)).toBe('replaying 3/4 [======  ] 75%');
    expect(progressLine(4, 4, 8)).toBe('replaying 4/4 [========] 100%');
  });
});
