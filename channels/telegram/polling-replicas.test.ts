import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventId } from '../../src/queue/envelope.js';
import { type FakeBotApi, startFakeBotApi } from '../../test/fakes/telegram-bot-api.js';
import { redisPerTest } from '../../test/support/redis-server.js';
import { startTestRelay, type TestRelay, uniquePrefix } from '../../test/support/relay.js';
import { until } from '../../test/support/until.js';
import type { TelegramAccount } from './config.js';
import { exampleAccount, exampleBotToken } from './fixtures/config.js';
import { update } from './fixtures/updates.js';
import { telegram } from './index.js';
import { pollingLoop } from './polling.js';

let fake: FakeBotApi;
const relays: TestRelay[] = [];
beforeEach(async () => {
  fake = await startFakeBotApi(exampleBotToken);
});
afterEach(async () => {
  for (const r of relays.splice(0).reverse()) await r.close().catch(() => {});
  await fake.close();
});

const jobId = (updateId: number) => eventId('telegram', 'support', `update-${updateId}`);
const offsets = () => fake.callsOf('getUpdates').map((c) => c.params.offset);

async function startPolling(options: { prefix?: string; env?: Record<string, string> } = {}) {
  const t = await startTestRelay(
    { channels: { telegram: [{ ...exampleAccount, mode: 'polling', apiRoot: fake.url }] } },
    {
      ...options,
      leaseTtlMs: 1500,
      channels: [{ ...telegram, loops: (a: TelegramAccount) => [pollingLoop(a, { timeoutSec: 2 })] }],
    },
  );
  relays.push(t);
  return t;
}

const polling = (t: TestRelay) => t.relay.loops.statuses.find((s) => s.loop === 'polling');

describe('telegram polling: the offset moves only after Redis has the update', () => {
  const own = redisPerTest(relays);

  it('Redis hung (SIGSTOP): no getUpdates past the update; once Redis is back, exactly one job, then the offset moves', async () => {
    const t = await startPolling({ env: { REDIS_URL: own.redis.url } });
    fake.offer(update(1));
    await until(async () => (await t.jobs()).length === 1);
    await until(() => offsets().includes(2));

    own.redis.signal('SIGSTOP');
    fake.offer(update(2));
    await until(() => fake.delivered.includes(2));
    await until(() => t.logs.some((l) => l.includes('could not queue events')));
    const resumedAt = Date.now();
    own.redis.signal('SIGCONT');

    await until(async () => (await t.queue().getJob(jobId(2))) !== undefined);
    await until(() => offsets().includes(3));
    const asked = fake.callsOf('getUpdates');
    // While Redis hung, Telegram was never told the update was taken (no offset 3).
    expect(asked.filter((c) => c.at < resumedAt).every((c) => c.params.offset !== 3)).toBe(true);
    expect((await t.jobs()).map((e) => e.id).sort()).toEqual([jobId(1), jobId(2)].sort());
    const cursor = new Redis(own.redis.url);
    try {
      expect(await cursor.hget(`${t.prefix}:relay:cursors`, 'telegram:support:polling')).toBe('2');
    } finally {
      cursor.disconnect();
    }
  });
});

describe('telegram polling with two relays', () => {
  it('one poller at a time; when it stops the other continues from the same offset, nothing lost or doubled', async () => {
    const prefix = uniquePrefix('tgpoll');
    const a = await startPolling({ prefix });
    const b = await startPolling({ prefix });
    await fake.waitFor('getUpdates');
    fake.offer(update(1), update(2), update(3));
    await until(async () => (await a.jobs()).length === 3);
    await until(() => offsets().includes(4));

    const [first, second] = polling(a)?.running ? [a, b] : [b, a];
    expect(polling(first)?.running).toBe(true);
    expect(polling(second)?.running).toBe(false);
    expect(polling(second)?.holder).toBe(first.relay.loops.holder);
    // Two pollers on one bot would end each other's long polls with 409.
    expect(fake.conflicts).toBe(0);

    await first.relay.close();
    fake.offer(update(4), update(5));
    await until(async () => (await second.jobs()).length === 5);
    expect(polling(second)?.running).toBe(true);
    expect((await second.jobs()).map((e) => e.id).sort()).toEqual([1, 2, 3, 4, 5].map(jobId).sort());
    expect(fake.delivered).toEqual([1, 2, 3, 4, 5]);
    expect(fake.conflicts).toBe(0);
  });
});
