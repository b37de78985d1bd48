import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSlack } from '../channels/slack/verify.js';
import { diagnoseRejections } from '../src/doctor/patterns.js';
import { RejectionLog } from '../src/rejections.js';
import { startTestRelay, type TestRelay } from './support/relay.js';
import { until } from './support/until.js';

/**
 * Accounts that need no inbound secret (contract section 2): Slack on Socket Mode only, Google
 * Chat on Pub/Sub only, Telegram polling, Teams Graph-only or Bot-only. Each starts, and the
 * inbound route it does not use refuses every request, however it is signed: 401, recorded in the
 * rejection log with why, nothing queued. Loops point at a closed local port: no provider is reached.
 */
const nowhere = 'http://127.0.0.1:9';
const json = { 'content-type': 'application/json' };

let t: TestRelay;
let rejections: RejectionLog;

beforeAll(async () => {
  t = await startTestRelay({
    channels: {
      slack: [{ account: 'socket', appToken: 'xapp-1-A1-1-unused', apiUrl: `${nowhere}/api/` }],
      googleChat: [
        {
          account: 'pubsub',
          subscription: 'projects/p/subscriptions/chat-events',
          credentials: { accessToken: 'ya29.unused' },
          apiRoot: nowhere,
        },
      ],
      telegram: [{ account: 'poller', botToken: '123456:AAunused', mode: 'polling', apiRoot: nowhere }],
      teams: [
        { account: 'graphonly', clientState: 'graph-only-client-state' },
        { account: 'botonly', appId: 'c9e8c047-2a74-40a2-b28a-b162d5f5327c' },
      ],
    },
  });
  rejections = new RejectionLog(t.relay.redis, t.prefix);
});
afterAll(async () => {
  await t?.close();
});

const nowSec = () => String(Math.floor(Date.now() / 1000));
const slackBody = JSON.stringify({
  type: 'event_callback',
  event_id: 'Ev-unused',
  event: { type: 'message' },
});

const cases: [string, string, string, () => Record<string, string>][] = [
  [
    'Slack on Socket Mode only: the Events API route',
    '/slack/socket/events',
    slackBody,
    () => {
      const ts = nowSec();
      // Signed with a secret the account does not have: there is none to match.
      return {
        ...json,
        'x-slack-request-timestamp': ts,
        'x-slack-signature': signSlack('any-secret', ts, Buffer.from(slackBody)),
      };
    },
  ],
  [
    'Google Chat on Pub/Sub only: the HTTP endpoint',
    '/google-chat/pubsub',
    JSON.stringify({ type: 'MESSAGE', message: { name: 'spaces/A/messages/B' } }),
    () => ({ ...json, authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln' }),
  ],
  [
    'Telegram polling: the webhook route',
    '/telegram/poller',
    JSON.stringify({ update_id: 1, message: { message_id: 1, text: 'hi', chat: { id: 1 } } }),
    () => ({ ...json, 'x-telegram-bot-api-secret-token': 'a-guessed-token' }),
  ],
  [
    'Teams Graph-only: the Bot Framework route',
    '/teams/graphonly/messages',
    JSON.stringify({ type: 'message', id: 'a1', serviceUrl: 'https://smba.trafficmanager.net/' }),
    () => ({ ...json, authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln' }),
  ],
  [
    'Teams Bot-only: the Graph notifications route',
    '/teams/botonly/notifications',
    JSON.stringify({ value: [{ clientState: 'graph-only-client-state', resource: 'chats/1' }] }),
    () => json,
  ],
];

describe('an account refuses the inbound route it does not use', () => {
  it.each(cases)('%s: 401, recorded with why, nothing queued', async (_name, path, body, headers) => {
    const res = await t.post(path, body, headers());
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'missing signature' });
    const [, , account] = path.split('/');
    const entry = await until(
      async () => (await rejections.list({})).find((r) => r.path === path),
      10_000,
      `a rejection for ${path}`,
    );
    expect(entry).toMatchObject({ reason: 'missing_signature', account });
    expect(String(entry.detail?.why)).toMatch(/is not configured for this account \(no \w+\)/);
    expect(await t.jobs()).toEqual([]);
  });
});

describe('relay doctor on requests to a route the account does not take', () => {
  it('says which field would open it, not that a proxy strips the header or the secret is wrong', async () => {
    // Requests without any Slack header too: a pattern that would otherwise read as a stripped header.
    for (let i = 0; i < 3; i++)
      expect((await t.post('/slack/socket/events', slackBody, json)).status).toBe(401);
    const records = await until(
      async () => {
        const all = await rejections.list({ channel: 'slack' });
        return all.length >= 4 && all;
      },
      10_000,
      'the Slack rejections',
    );
    const findings = diagnoseRejections(records, {
      accounts: new Map([['slack', ['socket']]]),
      auth: () => ({
        headers: ['X-Slack-Signature', 'X-Slack-Request-Timestamp'],
        secretField: 'signingSecret',
      }),
      lastAccepted: new Map(),
    });
    expect(findings).toEqual([
      {
        verdict: 'warning',
        check: 'rejections slack/socket',
        message: expect.stringMatching(
          /^4 requests since \S+ to \/slack\/socket\/events, which this account does not take \(Events API over HTTP is not configured for this account \(no signingSecret\)\): if the provider should deliver there, set signingSecret; otherwise remove that URL at the provider$/,
        ),
      },
    ]);
  });
});
