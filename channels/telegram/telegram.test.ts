import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRelay, type TestRelay } from '../../test/support/relay.js';
import { telegramAccount } from './config.js';
import { exampleAccount, exampleBotToken, exampleSecretToken, fixtureBytes } from './fixtures/config.js';
import { telegram } from './index.js';

const now = 1_800_000_000_000;
const polling = {
  account: 'poller',
  botToken: '222222222:BBpolling-token_0123456789',
  mode: 'polling',
  apiRoot: 'http://127.0.0.1:1',
};
const routed = {
  ...exampleAccount,
  account: 'routed',
  secretToken: 'routed-secret-token',
  queue: 'tg-other',
};
const headers = (token = exampleSecretToken) => ({
  'content-type': 'application/json',
  'x-telegram-bot-api-secret-token': token,
});

let t: TestRelay;
beforeAll(async () => {
  t = await startTestRelay({ channels: { telegram: [exampleAccount, polling, routed] } }, { now: () => now });
});
afterAll(() => t.close());

const jobCount = async () => (await t.jobs()).length;

describe('telegram: webhook requests', () => {
  it('queues telegram.message with subject = chat id and answers 200 with an empty body', async () => {
    const res = await t.post('/telegram/support', fixtureBytes('message'), headers());
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    const event = (await t.jobs()).find((e) => e.type === 'telegram.message');
    expect(event).toMatchObject({
      source: '/telegram/support',
      channel: 'telegram',
      account: 'support',
      subject: '1111111',
      time: new Date(1441645532 * 1000).toISOString(),
      data: { payload: { update_id: 10000 }, message: { text: '/start', conversation: '1111111' } },
    });
    expect(event?.id).not.toContain(':');
    expect((await t.queue().getJob(event?.id ?? ''))?.name).toBe('telegram.message');
  });

  it('a redelivered update (same update_id) makes no second job', async () => {
    const body = fixtureBytes('callback-query');
    expect((await t.post('/telegram/support', body, headers())).status).toBe(200);
    const count = await jobCount();
    expect((await t.post('/telegram/support', body, headers())).status).toBe(200);
    expect(await jobCount()).toBe(count);
    expect((await t.jobs()).filter((e) => e.type === 'telegram.callback_query')).toHaveLength(1);
  });

  it('accepts every secret token of a rotation list; sign() makes requests it accepts', async () => {
    expect(
      (await t.post('/telegram/support', fixtureBytes('edited-message'), headers('tg-secret_token-previous')))
        .status,
    ).toBe(200);
    const signed = telegram.sign(telegramAccount.parse(exampleAccount));
    expect(signed).toEqual({ method: 'POST', path: '/telegram/support', headers: headers() });
    expect((await t.post(signed.path, fixtureBytes('channel-post'), { ...signed.headers })).status).toBe(200);
  });

  it("routes an account's events to its queue", async () => {
    expect(
      (await t.post('/telegram/routed', fixtureBytes('my-chat-member'), headers('routed-secret-token')))
        .status,
    ).toBe(200);
    expect(await t.jobs('tg-other')).toMatchObject([{ type: 'telegram.my_chat_member', account: 'routed' }]);
  });
});

describe('telegram: rejected requests make no job', () => {
  const body = fixtureBytes('message-group-photo');
  const cases: Array<[string, string, string | Buffer, Record<string, string>, number]> = [
    ['missing secret token header', '/telegram/support', body, { 'content-type': 'application/json' }, 401],
    ['empty secret token header', '/telegram/support', body, headers(''), 401],
    ['wrong secret token', '/telegram/support', body, headers('not-the-secret'), 401],
    ['rotated-out secret token', '/telegram/support', body, headers('tg-secret_token-older'), 401],
    [
      'secret token with one byte changed',
      '/telegram/support',
      body,
      headers(`${exampleSecretToken.slice(0, -1)}X`),
      401,
    ],
    ['another account’s secret token', '/telegram/support', body, headers('routed-secret-token'), 401],
    ['the bot token instead of the secret token', '/telegram/support', body, headers(exampleBotToken), 401],
    ['polling account: its URL takes nothing', '/telegram/poller', body, headers(), 401],
    ['unknown account', '/telegram/nobody', body, headers(), 404],
    ['malformed JSON', '/telegram/support', '{"update_id":', headers(), 400],
    ['JSON without update_id', '/telegram/support', '{"message":{}}', headers(), 400],
    ['JSON array', '/telegram/support', '[]', headers(), 400],
    [
      'form body',
      '/telegram/support',
      'update_id=1',
      { ...headers(), 'content-type': 'application/x-www-form-urlencoded' },
      415,
    ],
  ];

  it.each(cases)('%s → %i', async (_name, path, payload, h, status) => {
    const before = await jobCount();
    const res = await t.post(path, payload, h);
    expect(res.status).toBe(status);
    expect(JSON.stringify(await res.json())).not.toMatch(/secret|token/i);
    expect(await jobCount()).toBe(before);
  });

  it('405 for GET', async () => {
    const res = await fetch(`${t.url}/telegram/support`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('telegram: operator feedback', () => {
  it('runs the polling loop for a polling account, retrying an unreachable Bot API without naming the token', async () => {
    const deadline = Date.now() + 10_000;
    while (!t.logs.some((l) => l.includes('unreachable (deleteWebhook)')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const line = t.logs.find((l) => l.includes('unreachable (deleteWebhook)')) ?? '';
    expect(line).toMatch(/"loop":"polling".*Telegram Bot API at http:\/\/127\.0\.0\.1:1 unreachable/);
    expect(t.logs.join('\n')).not.toMatch(/not implemented/);
  });

  it('reports in /readyz that webhook registration needs publicUrl', async () => {
    const ready = (await (await fetch(`${t.opsUrl}/readyz`)).json()) as { warnings?: string[] };
    expect(ready.warnings?.join('\n')).toMatch(/telegram\/support webhook-registration: publicUrl is needed/);
  });

  it('never writes a bot token or secret token to the logs', () => {
    const text = t.logs.join('\n');
    for (const secret of [
      exampleBotToken,
      exampleSecretToken,
      'tg-secret_token-previous',
      'routed-secret-token',
      polling.botToken,
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});
