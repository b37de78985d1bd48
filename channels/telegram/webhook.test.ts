import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LoopContext } from '../../src/channel.js';
import { CredentialError, RetryLaterError } from '../../src/errors.js';
import { type FakeBotApi, startFakeBotApi, tooManyRequests } from '../../test/fakes/telegram-bot-api.js';
import { readyWarnings, startTestRelay, type TestRelay } from '../../test/support/relay.js';
import { until } from '../../test/support/until.js';
import { webhookDrift } from './api.js';
import { type TelegramAccount, telegramAccount } from './config.js';
import { exampleAccount, exampleBotToken, exampleSecretToken, fixtureBytes } from './fixtures/config.js';
import { telegram } from './index.js';
import { webhookLoop } from './webhook.js';

const publicUrl = 'https://relay.example.com';
const expectedUrl = `${publicUrl}/telegram/support`;

let fake: FakeBotApi;
beforeAll(async () => {
  fake = await startFakeBotApi(exampleBotToken);
});
afterAll(() => fake.close());

const account = (overrides: Record<string, unknown> = {}): TelegramAccount =>
  telegramAccount.parse({ ...exampleAccount, apiRoot: fake.url, ...overrides });

/** A loop context by hand, for driving one loop without the runner. */
function loopContext(publicUrlOrNone: string | undefined) {
  const abort = new AbortController();
  const reports: Array<string | undefined> = [];
  let oks = 0;
  let cursor: string | undefined;
  // Not a literal typed as LoopContext: the cursor is there for contexts that have one, ignored otherwise.
  const fields = {
    signal: abort.signal,
    log: pino({ level: 'silent' }),
    publicUrl: publicUrlOrNone,
    now: Date.now,
    emit: async () => [],
    report: (p: string | undefined) => {
      reports.push(p);
    },
    ok: () => {
      oks++;
    },
    cursor: {
      get: async () => cursor,
      set: async (value: string) => {
        cursor = value;
      },
    },
  };
  const ctx: LoopContext = fields;
  return { ctx, abort, reports, oks: () => oks };
}

describe('telegram webhook registration in a running relay', () => {
  let t: TestRelay;
  afterEach(async () => {
    await t?.close();
    fake.calls.length = 0;
    Object.assign(fake.webhook, { url: '', lastErrorMessage: undefined, lastErrorDate: undefined });
  });

  const start = (overrides: Record<string, unknown> = {}) =>
    startTestRelay(
      { publicUrl, channels: { telegram: [{ ...exampleAccount, apiRoot: fake.url, ...overrides }] } },
      // The registered channel, with getWebhookInfo re-read every 100 ms instead of every 10 min.
      { channels: [{ ...telegram, loops: (a: TelegramAccount) => [webhookLoop(a, { checkEveryMs: 100 })] }] },
    );

  it('calls setWebhook with {publicUrl}/telegram/{account}, the secret token and allowed_updates, then getWebhookInfo', async () => {
    t = await start({ allowedUpdates: ['message', 'callback_query'] });
    await fake.waitFor('getWebhookInfo');
    const [set, ...again] = fake.callsOf('setWebhook');
    expect(again).toHaveLength(0);
    expect(set?.params).toEqual({
      url: expectedUrl,
      secret_token: exampleSecretToken,
      allowed_updates: ['message', 'callback_query'],
    });
    expect(set?.token).toBe(exampleBotToken);
    expect(await readyWarnings(t)).toBe('');
  });

  it('leaves allowed_updates alone when the config names none', async () => {
    t = await start();
    await fake.waitFor('setWebhook');
    expect(fake.callsOf('setWebhook')[0]?.params).not.toHaveProperty('allowed_updates');
  });

  it('reports drift in /readyz and the log when getWebhookInfo shows another URL, and clears it once fixed', async () => {
    t = await start();
    await fake.waitFor('getWebhookInfo');
    fake.webhook.url = 'https://someone-else.example/hook';
    await until(async () => (await readyWarnings(t)).includes('someone-else.example'));
    expect(await readyWarnings(t)).toMatch(
      /telegram\/support webhook-registration: webhook drift: .*expected https:\/\/relay\.example\.com/,
    );
    expect(t.logs.join('\n')).toContain('telegram webhook drift');
    fake.webhook.url = expectedUrl;
    await until(async () => (await readyWarnings(t)) === '');
  });

  it("reports Telegram's last delivery error as drift", async () => {
    t = await start();
    await fake.waitFor('getWebhookInfo');
    Object.assign(fake.webhook, {
      lastErrorDate: Math.floor(Date.now() / 1000) + 5,
      lastErrorMessage: 'Wrong response from the webhook: 401 Unauthorized',
    });
    await until(async () => (await readyWarnings(t)).includes('401 Unauthorized'));
  });

  it('keeps serving while the Bot API fails at start, and registers once it answers', async () => {
    fake.failNext('setWebhook', { status: 502, body: 'Bad Gateway' });
    t = await start();
    await fake.waitFor('setWebhook');
    const res = await t.post('/telegram/support', fixtureBytes('inline-query'), {
      'content-type': 'application/json',
      'x-telegram-bot-api-secret-token': exampleSecretToken,
    });
    expect(res.status).toBe(200);
    await fake.waitFor('setWebhook', 2);
    await fake.waitFor('getWebhookInfo');
    expect(fake.webhook.url).toBe(expectedUrl);
    expect(t.logs.join('\n')).toMatch(/loop failed; retrying/);
    expect(t.logs.join('\n')).not.toContain(exampleBotToken);
  });
});

describe('telegram webhook loop, driven by hand', () => {
  it('without publicUrl: reports that it is needed and calls nothing', async () => {
    fake.calls.length = 0;
    const { ctx, reports } = loopContext(undefined);
    await webhookLoop(account()).run(ctx);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatch(/publicUrl is needed/);
    expect(fake.calls).toHaveLength(0);
  });

  it("a 429 becomes RetryLaterError with Telegram's retry_after", async () => {
    fake.failNext('setWebhook', tooManyRequests(3));
    const { ctx } = loopContext(publicUrl);
    const err = await webhookLoop(account())
      .run(ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryLaterError);
    expect((err as RetryLaterError).retryAfterMs).toBe(3000);
  });

  it('a refused bot token is a CredentialError; no error message carries the token', async () => {
    const wrong = '999999999:ZZwrong-token_abcdefghijklmnop';
    const refused = await webhookLoop(account({ botToken: wrong }))
      .run(loopContext(publicUrl).ctx)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CredentialError);
    expect(String((refused as Error).message)).not.toContain(wrong);
    const unreachable = await webhookLoop(account({ apiRoot: 'http://127.0.0.1:1' }))
      .run(loopContext(publicUrl).ctx)
      .catch((e: unknown) => e);
    expect(unreachable).toBeInstanceOf(Error);
    expect((unreachable as Error).message).toMatch(/unreachable/);
    expect((unreachable as Error).message).not.toContain(exampleBotToken);
    expect((unreachable as Error).message).not.toContain(exampleBotToken.split(':')[1]);
    expect((unreachable as Error).cause).toBeUndefined();
  });

  it('reports ok, re-checks on its interval and returns promptly when aborted', async () => {
    fake.calls.length = 0;
    const { ctx, abort, oks, reports } = loopContext(publicUrl);
    const running = webhookLoop(account(), { checkEveryMs: 20 }).run(ctx);
    await fake.waitFor('getWebhookInfo', 3);
    abort.abort();
    await running;
    // The third call may be in flight when the abort lands: it is cancelled, not an error.
    expect(oks()).toBeGreaterThanOrEqual(2);
    expect(reports.every((r) => r === undefined)).toBe(true);
  });

  it('drift: only errors since our registration count', () => {
    const info = { url: expectedUrl, has_custom_certificate: false, pending_update_count: 2 };
    expect(webhookDrift(info, expectedUrl)).toBeUndefined();
    expect(webhookDrift({ ...info, url: '' }, expectedUrl)).toMatch(/no URL/);
    const old = { ...info, last_error_date: 1000, last_error_message: 'Connection refused' };
    expect(webhookDrift(old, expectedUrl, 2_000_000)).toBeUndefined();
    expect(webhookDrift(old, expectedUrl, 500_000)).toMatch(/Connection refused \(2 updates pending\)/);
  });
});
