import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { InboundRequest } from '../../src/channel.js';
import { RejectedError } from '../../src/errors.js';
import { slack } from './index.js';
import { receiveSlack, sslCheck } from './normalize.js';
import { signSlack, verifySlack } from './verify.js';

// The worked example of https://api.slack.com/authentication/verifying-requests-from-slack.
const docSecret = '8f742231b10e8888abcd99yyyzzz85a5';
const docTimestamp = '1531420618';
const docBody =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const docSignature = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const docNow = Number(docTimestamp) * 1000;

function request(
  body: string,
  headers: Record<string, string>,
  mediaType = 'application/x-www-form-urlencoded',
): InboundRequest {
  return {
    method: 'POST',
    path: '/slack/acme/events',
    query: new URLSearchParams(),
    headers,
    body: Buffer.from(body),
    mediaType,
    ip: '127.0.0.1',
    receivedAt: docNow,
  };
}

const docHeaders = (over: Record<string, string> = {}) => ({
  'x-slack-request-timestamp': docTimestamp,
  'x-slack-signature': docSignature,
  ...over,
});

function reason(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof RejectedError ? err.reason : `other: ${String(err)}`;
  }
}

describe('slack signature', () => {
  it("signs Slack's documented example", () => {
    expect(signSlack(docSecret, docTimestamp, Buffer.from(docBody))).toBe(docSignature);
  });

  it("verifies Slack's documented example with the clock at its timestamp, among rotated secrets", () => {
    expect(reason(() => verifySlack(request(docBody, docHeaders()), [docSecret], docNow))).toBeUndefined();
    expect(
      reason(() => verifySlack(request(docBody, docHeaders()), ['newer', docSecret], docNow)),
    ).toBeUndefined();
  });

  it('accepts 300 s of skew either way and refuses 301 s', () => {
    const req = request(docBody, docHeaders());
    expect(reason(() => verifySlack(req, [docSecret], docNow + 300_000))).toBeUndefined();
    expect(reason(() => verifySlack(req, [docSecret], docNow - 300_000))).toBeUndefined();
    expect(reason(() => verifySlack(req, [docSecret], docNow + 301_000))).toBe('stale_timestamp');
    expect(reason(() => verifySlack(req, [docSecret], docNow - 301_000))).toBe('stale_timestamp');
  });

  it('refuses missing headers, other secrets, tampered bytes, other versions and non-numeric timestamps', () => {
    const cases: Array<[InboundRequest, string[], string]> = [
      [request(docBody, { 'x-slack-request-timestamp': docTimestamp }), [docSecret], 'missing_signature'],
      [request(docBody, { 'x-slack-signature': docSignature }), [docSecret], 'missing_signature'],
      [request(docBody, docHeaders()), ['rotated-out-secret'], 'bad_signature'],
      [request(docBody.replace('foobar', 'foobaz'), docHeaders()), [docSecret], 'bad_signature'],
      [
        request(docBody, docHeaders({ 'x-slack-signature': docSignature.replace('v0=', 'v1=') })),
        [docSecret],
        'bad_signature',
      ],
      [
        request(docBody, docHeaders({ 'x-slack-signature': docSignature.slice(3) })),
        [docSecret],
        'bad_signature',
      ],
      [
        request(docBody, docHeaders({ 'x-slack-signature': docSignature.toUpperCase() })),
        [docSecret],
        'bad_signature',
      ],
      [
        request(docBody, docHeaders({ 'x-slack-request-timestamp': '1531420618.5' })),
        [docSecret],
        'bad_signature',
      ],
      // The timestamp is part of the base string: moving it breaks the signature even inside the window.
      [
        request(docBody, docHeaders({ 'x-slack-request-timestamp': '1531420619' })),
        [docSecret],
        'bad_signature',
      ],
    ];
    for (const [req, secrets, expected] of cases)
      expect(reason(() => verifySlack(req, secrets, docNow))).toBe(expected);
  });

  it('sign() on the adapter makes a request verify() accepts', () => {
    const account = slack.accounts.parse([{ account: 'acme', signingSecret: ['s-new', 's-old'] }])[0];
    if (!account) throw new Error('no account');
    const body = Buffer.from('{"type":"event_callback","event_id":"Ev1"}');
    const signed = slack.sign(account, body, docNow);
    expect(signed.path).toBe('/slack/acme/events');
    expect(signed.headers['content-type']).toBe('application/json');
    const req = { ...request(body.toString(), signed.headers, 'application/json') };
    expect(reason(() => verifySlack(req, account.signingSecret ?? [], docNow))).toBeUndefined();
  });
});

describe('slack config', () => {
  it('takes a rotation list, and runs a Socket Mode loop only for an account with an appToken', () => {
    const [a, b] = slack.accounts.parse([
      { account: 'a', signingSecret: 's1' },
      { account: 'b', signingSecret: ['s2', 's3'], appToken: 'xapp-1-A-1-x', queue: 'slack-b' },
    ]);
    expect(a?.signingSecret).toEqual(['s1']);
    expect(a?.apiUrl).toBe('https://slack.com/api/');
    expect(slack.loops(a as NonNullable<typeof a>)).toEqual([]);
    expect(slack.loops(b as NonNullable<typeof b>).map((l) => l.name)).toEqual(['socket-mode']);
    expect(slack.queueOf(b as NonNullable<typeof b>)).toBe('slack-b');
  });

  it('takes an account with only appToken (Socket Mode) and no signingSecret; relay sign says why it cannot sign', () => {
    const [a] = slack.accounts.parse([{ account: 'a', appToken: 'xapp-1-A-1-x' }]);
    const account = a as NonNullable<typeof a>;
    expect(account.signingSecret).toBeUndefined();
    expect(slack.loops(account).map((l) => l.name)).toEqual(['socket-mode']);
    expect(() => slack.sign(account, Buffer.from('{}'), docNow)).toThrow(
      'slack account "a" has no signingSecret: it takes events over Socket Mode only, so no HTTP request of it can be signed',
    );
  });

  it('reports an account with neither secret and a bot token given as appToken, without echoing it', () => {
    const result = slack.accounts.safeParse([
      { account: 'a' },
      { account: 'b', signingSecret: 's', appToken: 'xoxb-123-secret' },
    ]);
    expect(result.success).toBe(false);
    const issues = result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(issues).toContain(
      '0.signingSecret: give signingSecret (Events API over HTTP), appToken (Socket Mode), or both (or their File forms)',
    );
    expect(issues).toContain('1.appToken: must be an app-level token (xapp-…)');
    expect(JSON.stringify(result.error?.issues)).not.toContain('xoxb-123-secret');
  });
});

describe('slack normalize', () => {
  const dir = new URL('./fixtures/', import.meta.url);
  const fixtures = readdirSync(dir).filter((f) => f.endsWith('.json'));
  const bodyOf = (file: string): [string, string] => {
    const json = readFileSync(new URL(file, dir), 'utf8');
    if (file.startsWith('interaction-'))
      return [new URLSearchParams({ payload: json }).toString(), 'application/x-www-form-urlencoded'];
    if (file.startsWith('command'))
      return [new URLSearchParams(JSON.parse(json)).toString(), 'application/x-www-form-urlencoded'];
    return [json, 'application/json'];
  };

  it.each(fixtures)('%s normalizes without throwing, to one event with a key (or the challenge)', (file) => {
    const [body, type] = bodyOf(file);
    const received = receiveSlack(request(body, {}, type));
    if (file === 'url-verification.json') {
      expect(received.events).toEqual([]);
      expect(received.reply?.([])).toMatchObject({
        status: 200,
        body: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      });
      return;
    }
    expect(received.events).toHaveLength(1);
    const [event] = received.events;
    const prefix = file.split('-')[0];
    const expected = {
      event: 'slack.event',
      app: 'slack.event',
      interaction: 'slack.interaction',
      'command.json': 'slack.command',
    };
    expect(event?.type).toBe(expected[(prefix ?? '') as keyof typeof expected] ?? expected['command.json']);
    expect(event?.key).toBeTruthy();
  });

  it('derives subject and data.message from the event', () => {
    const [msg] = receiveSlack(request(bodyOf('event-message.json')[0], {}, 'application/json')).events;
    expect(msg).toMatchObject({
      key: 'Ev123ABC456',
      subject: 'C123ABC456',
      time: '2012-12-14T20:38:43.000Z',
      message: {
        id: '1355517523.000005',
        conversation: 'C123ABC456',
        sender: 'U123ABC456',
        text: 'Live long and prospect.',
      },
    });
    const [edit] = receiveSlack(
      request(bodyOf('event-message-changed.json')[0], {}, 'application/json'),
    ).events;
    expect(edit?.message).toMatchObject({
      id: '1355517523.000005',
      text: 'Hello, world!',
      conversation: 'C123ABC456',
    });
    const [reaction] = receiveSlack(
      request(bodyOf('event-reaction-added.json')[0], {}, 'application/json'),
    ).events;
    expect(reaction).toMatchObject({ subject: 'C123ABC456', message: undefined });
    const [created] = receiveSlack(
      request(bodyOf('event-channel-created.json')[0], {}, 'application/json'),
    ).events;
    expect(created?.subject).toBe('C024BE91L');
  });

  it('keys interactions on trigger_id, else on the action or view ids', () => {
    const [clicked] = receiveSlack(request(bodyOf('interaction-block-actions.json')[0], {})).events;
    expect(clicked).toMatchObject({
      key: '12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3',
      subject: 'CBR2V3XEX',
    });
    const [suggestion] = receiveSlack(request(bodyOf('interaction-block-suggestion.json')[0], {})).events;
    expect(suggestion?.key).toBe('block_suggestion|V0PKB1ZFV|1586911468.b6bd4f2e');
  });

  it('answers ssl_check before verification, and only ssl_check', () => {
    expect(sslCheck(request('ssl_check=1&token=abc', {}))).toEqual({ status: 200 });
    expect(sslCheck(request('ssl_check=1', {}, 'application/json'))).toBeUndefined();
    expect(sslCheck(request(docBody, {}))).toBeUndefined();
    expect(sslCheck({ ...request('', {}), body: Buffer.from([0xff, 0xfe]) })).toBeUndefined();
  });
});
