import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventId } from '../../src/queue/envelope.js';
import { startTestRelay, type TestRelay } from '../../test/support/relay.js';
import { exampleAccount } from './fixtures/config.js';

// The clock sits at the timestamp of Slack's documented example, so that request verifies as is.
const ts = 1531420618;
const now = ts * 1000;
const docBody =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const docSignature = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

const config = {
  channels: {
    slack: [exampleAccount, { account: 'routed', signingSecret: 'routed-secret', queue: 'slack-routed' }],
  },
};
const [current, previous] = exampleAccount.signingSecret as [string, string];

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

/** Signed independently of verify.ts (plain node:crypto), so the scheme is checked, not echoed. */
function signed(body: string, type: 'json' | 'form', secret = current, at = ts): Record<string, string> {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${at}:${body}`).digest('hex')}`;
  return {
    'content-type': type === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(at),
    'x-slack-signature': signature,
  };
}

let t: TestRelay;
beforeAll(async () => {
  t = await startTestRelay(config, { now: () => now });
});
afterAll(() => t.close());

/** The id the relay derives from Slack's own key: stable across deliveries. */
async function accepted(res: Response, key: string, account = 'acme'): Promise<string> {
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('');
  return eventId('slack', account, key);
}

describe('slack: accepted requests', () => {
  it("queues Slack's documented slash command, signed as documented", async () => {
    const before = (await t.jobs()).length;
    const res = await t.post('/slack/acme/events', docBody, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': docSignature,
    });
    expect(res.status).toBe(200);
    const jobs = await t.jobs();
    expect(jobs).toHaveLength(before + 1);
    const event = jobs.find((e) => e.type === 'slack.command');
    expect(event).toMatchObject({
      source: '/slack/acme',
      channel: 'slack',
      account: 'acme',
      subject: 'G8PSS9T3V',
      data: {
        payload: {
          command: '/webhook-collect',
          trigger_id: '398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
        },
        message: { conversation: 'G8PSS9T3V', sender: 'U2CERLKJA', text: '' },
      },
    });
  });

  it('event_callback → slack.event with subject, time and data.message; a retry makes no second job', async () => {
    const body = fixture('event-message.json');
    const res = await t.post('/slack/acme/events', body, signed(body, 'json'));
    const id = await accepted(res, 'Ev123ABC456');
    const job = await t.queue().getJob(id);
    expect(job?.name).toBe('slack.event');
    expect(job?.data).toMatchObject({
      type: 'slack.event',
      subject: 'C123ABC456',
      time: '2012-12-14T20:38:43.000Z',
      data: {
        payload: JSON.parse(body),
        message: { id: '1355517523.000005', sender: 'U123ABC456', text: 'Live long and prospect.' },
      },
    });
    expect(id).toMatch(/^slack-[A-Za-z0-9_-]+$/);

    const before = (await t.jobs()).length;
    const retry = await t.post('/slack/acme/events', body, {
      ...signed(body, 'json'),
      'x-slack-retry-num': '1',
      'x-slack-retry-reason': 'http_timeout',
    });
    expect(retry.status).toBe(200);
    expect((await t.jobs()).length).toBe(before);
    expect((await t.jobs()).filter((e) => e.id === id)).toHaveLength(1);
  });

  it('interactivity payload= → slack.interaction keyed on trigger_id', async () => {
    const body = new URLSearchParams({ payload: fixture('interaction-block-actions.json') }).toString();
    const id = await accepted(
      await t.post('/slack/acme/events', body, signed(body, 'form')),
      '12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3',
    );
    const job = await t.queue().getJob(id);
    expect(job?.data).toMatchObject({
      type: 'slack.interaction',
      subject: 'CBR2V3XEX',
      data: { payload: { type: 'block_actions' } },
    });
    await t.post('/slack/acme/events', body, signed(body, 'form'));
    expect((await t.jobs()).filter((e) => e.id === id)).toHaveLength(1);
  });

  it("accepts the previous secret of a rotation list and routes to the account's queue", async () => {
    const body = fixture('event-app-mention.json');
    const res = await t.post('/slack/acme/events', body, signed(body, 'json', previous));
    expect(res.status).toBe(200);
    const routed = fixture('event-reaction-added.json');
    expect(
      (await t.post('/slack/routed/events', routed, signed(routed, 'json', 'routed-secret'))).status,
    ).toBe(200);
    const [event] = await t.jobs('slack-routed');
    expect(event).toMatchObject({ account: 'routed', type: 'slack.event', subject: 'C123ABC456' });
  });
});

describe('slack: handshakes', () => {
  const challenge = '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P';

  it('url_verification, signed → 200 with the challenge as text/plain, no job', async () => {
    const before = (await t.jobs()).length;
    const body = fixture('url-verification.json');
    const res = await t.post('/slack/acme/events', body, signed(body, 'json'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe(challenge);
    expect((await t.jobs()).length).toBe(before);
  });

  it('url_verification, unsigned or wrongly signed → 401, the challenge never echoed', async () => {
    const body = fixture('url-verification.json');
    for (const headers of [{ 'content-type': 'application/json' }, signed(body, 'json', 'not-the-secret')]) {
      const res = await t.post('/slack/acme/events', body, headers);
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain(challenge);
    }
  });

  it('ssl_check=1 (unsigned, as Slack sends it) → 200, no job', async () => {
    const before = (await t.jobs()).length;
    const res = await t.post('/slack/acme/events', 'ssl_check=1&token=gIkuvaNzQIHg97ATvDxqgjtO', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(200);
    expect((await t.jobs()).length).toBe(before);
  });
});

describe('slack: rejected requests make no job', () => {
  const body = fixture('event-channel-created.json');
  const good = signed(body, 'json');
  const cases: Array<[string, number, string, string, Record<string, string>]> = [
    ['missing signature', 401, '/slack/acme/events', body, { ...good, 'x-slack-signature': '' }],
    ['missing timestamp', 401, '/slack/acme/events', body, { ...good, 'x-slack-request-timestamp': '' }],
    ['wrong secret', 401, '/slack/acme/events', body, signed(body, 'json', 'not-the-secret')],
    ['rotated-out secret', 401, '/slack/acme/events', body, signed(body, 'json', 'rotated-out-secret')],
    ['tampered byte', 401, '/slack/acme/events', body.replace('C024BE91L', 'C024BE91M'), good],
    ['stale timestamp', 401, '/slack/acme/events', body, signed(body, 'json', current, ts - 301)],
    ['future timestamp', 401, '/slack/acme/events', body, signed(body, 'json', current, ts + 301)],
    ["another account's secret", 401, '/slack/routed/events', body, good],
    ['unknown account', 404, '/slack/nobody/events', body, good],
    ['malformed JSON, signed', 400, '/slack/acme/events', '{"type":', signed('{"type":', 'json')],
    ['JSON without a type, signed', 400, '/slack/acme/events', '{"a":1}', signed('{"a":1}', 'json')],
    ['form without command or payload, signed', 400, '/slack/acme/events', 'a=1', signed('a=1', 'form')],
    [
      'payload= that is not JSON, signed',
      400,
      '/slack/acme/events',
      'payload=%7Bnope',
      signed('payload=%7Bnope', 'form'),
    ],
    ['text/plain', 415, '/slack/acme/events', body, { ...good, 'content-type': 'text/plain' }],
  ];

  it.each(cases)('%s → %i', async (_name, status, path, payload, headers) => {
    const before = (await t.jobs()).length;
    const res = await t.post(path, payload, headers);
    expect(res.status).toBe(status);
    expect(JSON.stringify(await res.json())).not.toMatch(/v0=|secret/i);
    expect((await t.jobs()).length).toBe(before);
  });

  it('405 for GET', async () => {
    const res = await fetch(`${t.url}/slack/acme/events`);
    expect(res.status).toBe(405);
  });

  it('records the reason codes, with the clock skew of a stale request', async () => {
    await t.post('/slack/acme/events', body, signed(body, 'json', current, ts - 400));
    const entries = await t.relay.redis.xrevrange(`${t.prefix}:relay:rejections`, '+', '-', 'COUNT', 50);
    const flat = entries.map(([, fields]) => fields.join(' ')).join('\n');
    for (const code of [
      'missing_signature',
      'bad_signature',
      'stale_timestamp',
      'unknown_account',
      'bad_body',
    ])
      expect(flat).toContain(code);
    expect(flat).toContain('{"skewSec":400}');
    expect(flat).not.toContain(good['x-slack-signature']);
  });

  it('never writes a signing secret to the logs', () => {
    const text = t.logs.join('\n');
    for (const secret of [current, previous, 'routed-secret']) expect(text).not.toContain(secret);
  });
});
