import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoopContext } from '../../src/channel.js';
import { CredentialError } from '../../src/errors.js';
import { eventId } from '../../src/queue/envelope.js';
import { type FakeBotApi, startFakeBotApi, tooManyRequests } from '../../test/fakes/telegram-bot-api.js';
import { loopHarness } from '../../test/support/loop-harness.js';
import { startTestRelay, type TestRelay } from '../../test/support/relay.js';
import { until } from '../../test/support/until.js';
import { type TelegramAccount, telegramAccount } from './config.js';
import { exampleAccount, exampleBotToken, exampleSecretToken } from './fixtures/config.js';
import { update } from './fixtures/updates.js';
import { telegram } from './index.js';
import { pollingLoop } from './polling.js';

let fake: FakeBotApi;
let t: TestRelay | undefined;
beforeEach(async () => {
  fake = await startFakeBotApi(exampleBotToken);
});
afterEach(async () => {
  await t?.close();
  t = undefined;
  await fake.close();
});

const pollingAccount = () => ({ ...exampleAccount, mode: 'polling', apiRoot: fake.url });
const jobId = (updateId: number) => eventId('telegram', 'support', `update-${updateId}`);
const offsets = () => fake.callsOf('getUpdates').map((c) => c.params.offset);

/** A relay polling the fake, with a 2 s long poll instead of 25 s. */
async function startPolling(wrap?: (ctx: LoopContext) => LoopContext): Promise<TestRelay> {
  const loops = (a: TelegramAccount) => {
    const loop = pollingLoop(a, { timeoutSec: 2 });
    return [wrap ? { ...loop, run: (ctx: LoopContext) => loop.run(wrap(ctx)) } : loop];
  };
  t = await startTestRelay(
    { channels: { telegram: [pollingAccount()] } },
    { channels: [{ ...telegram, loops }] },
  );
  return t;
}

describe('telegram polling in a running relay', () => {
  it("deletes a leftover webhook first, then turns updates into the webhook route's jobs and moves the offset after them", async () => {
    fake.webhook.url = 'https://old.example/telegram/support';
    const relay = await startPolling();
    await fake.waitFor('getUpdates');
    expect(fake.calls.map((c) => c.method).slice(0, 2)).toEqual(['deleteWebhook', 'getUpdates']);
    expect(fake.callsOf('deleteWebhook')[0]?.params).toEqual({ drop_pending_updates: false });
    expect(fake.callsOf('getUpdates')[0]?.params).toEqual({ timeout: 2, limit: 100 });

    fake.offer(update(101, 'message'), update(102, 'callback-query'), update(103, 'edited-message'));
    await until(async () => (await relay.jobs()).length === 3);
    await until(() => offsets().includes(104));
    const jobs = await relay.jobs();
    const byId = new Map(jobs.map((e) => [e.id, e]));
    expect(byId.get(jobId(101))).toMatchObject({
      type: 'telegram.message',
      source: '/telegram/support',
      subject: '1111111',
      data: { payload: update(101, 'message'), message: { text: '/start', sender: '1111111' } },
    });
    expect(byId.get(jobId(102))?.type).toBe('telegram.callback_query');
    expect(byId.get(jobId(103))?.type).toBe('telegram.edited_message');
    // One batch: the first call had no offset (earliest unconfirmed), every later one asks for 104.
    expect(offsets()[0]).toBeUndefined();
    expect(
      offsets()
        .slice(1)
        .every((o) => o === 104),
    ).toBe(true);
  });

  it('one update delivered by the webhook route and by polling makes one job', async () => {
    const relay = await startPolling();
    await fake.waitFor('getUpdates');
    const res = await relay.post('/telegram/support', JSON.stringify(update(201)), {
      'content-type': 'application/json',
      'x-telegram-bot-api-secret-token': exampleSecretToken,
    });
    expect(res.status).toBe(200);
    fake.offer(update(201));
    await until(() => offsets().includes(202));
    expect((await relay.jobs()).map((e) => e.id)).toEqual([jobId(201)]);
  });

  it('a crash between emit and the offset write gets the update again; dedupe makes one job', async () => {
    let crashes = 1;
    const relay = await startPolling((ctx) => ({
      ...ctx,
      cursor: {
        get: () => ctx.cursor.get(),
        set: async (value) => {
          if (crashes-- > 0) throw new Error('simulated crash before the offset was stored');
          await ctx.cursor.set(value);
        },
      },
    }));
    await fake.waitFor('getUpdates');
    fake.offer(update(301));
    await until(() => offsets().includes(302));
    expect(fake.delivered).toEqual([301, 301]);
    expect((await relay.jobs()).map((e) => e.id)).toEqual([jobId(301)]);
  });

  it('honours retry_after on 429 before calling getUpdates again', async () => {
    fake.failNext('getUpdates', tooManyRequests(2));
    const relay = await startPolling();
    await fake.waitFor('getUpdates', 2, 15_000);
    const [limited, next] = fake.callsOf('getUpdates');
    expect((next?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(1950);
    expect(relay.logs.join('\n')).toMatch(/Too Many Requests: retry after 2/);
    fake.offer(update(401));
    await until(async () => (await relay.jobs()).length === 1);
  });

  it('409 after deleteWebhook (a webhook set again): says so, deletes the webhook again and goes on', async () => {
    fake.failNext('getUpdates', {
      status: 409,
      body: {
        ok: false,
        error_code: 409,
        description: "Conflict: can't use getUpdates method while webhook is active",
      },
    });
    const relay = await startPolling();
    await fake.waitFor('getUpdates', 2, 15_000);
    expect(fake.callsOf('deleteWebhook')).toHaveLength(2);
    const line = relay.logs.find((l) => l.includes('answered 409')) ?? '';
    expect(line).toMatch(/loop failed; retrying/);
    expect(line).toMatch(/another deployment uses this bot/);
    fake.offer(update(501));
    await until(async () => (await relay.jobs()).length === 1);
    expect(relay.logs.join('\n')).not.toContain(exampleBotToken.split(':')[1]);
  });

  it('time from an update offered by the fake to its job (20 updates, one at a time)', async () => {
    const relay = await startPolling();
    await fake.waitFor('getUpdates');
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const offeredAt = Date.now();
      fake.offer(update(600 + i));
      let created = 0;
      await until(async () => {
        created = (await relay.queue().getJob(jobId(600 + i)))?.timestamp ?? 0;
        return created > 0;
      });
      latencies.push(created - offeredAt);
    }
    latencies.sort((a, b) => a - b);
    const p50 = latencies[9] ?? 0;
    const max = latencies[19] ?? 0;
    console.log(`telegram polling: update offered -> job created: p50 ${p50} ms, max ${max} ms (n=20)`);
    expect(max).toBeLessThan(1000);
  });
});

describe('telegram polling loop, driven by hand', () => {
  function handContext() {
    const abort = new AbortController();
    return { ctx: loopHarness().context(abort.signal), abort };
  }

  it('a refused bot token is a CredentialError that does not name the token', async () => {
    const wrong = '999999999:ZZwrong-token_abcdefghijklmnop';
    const account = telegramAccount.parse({ ...pollingAccount(), botToken: wrong });
    const err = await pollingLoop(account)
      .run(handContext().ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialError);
    expect((err as Error).message).toMatch(/check botToken/);
    expect((err as Error).message).not.toContain(wrong.split(':')[1]);
  });

  it('returns at once when stopped during a 25 s long poll', async () => {
    const { ctx, abort } = handContext();
    const running = pollingLoop(telegramAccount.parse(pollingAccount())).run(ctx);
    await fake.waitFor('getUpdates');
    expect(fake.callsOf('getUpdates')[0]?.params.timeout).toBe(25);
    const stoppedAt = Date.now();
    abort.abort();
    await running;
    expect(Date.now() - stoppedAt).toBeLessThan(500);
  });
});
