import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRelay, type TestRelay } from '../../test/support/relay.js';
import { whatsappAccount } from './config.js';
import { exampleAccount, fixtureBytes } from './fixtures/config.js';
import { whatsapp } from './index.js';

const now = 1_800_000_000_000;
const main = whatsappAccount.parse(exampleAccount);
const routed = {
  account: 'routed',
  appSecret: 'routed-app-secret-42',
  verifyToken: 'routed-verify-42',
  queue: 'wa-other',
};

/** Headers Meta would send, computed here independently of the channel's own sign(). */
const metaHeaders = (body: string | Buffer, secret = 'wa-app-secret-new-0123456789') => ({
  'content-type': 'application/json',
  'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
});

let t: TestRelay;
beforeAll(async () => {
  t = await startTestRelay({ channels: { whatsapp: [exampleAccount, routed] } }, { now: () => now });
});
afterAll(() => t.close());

const jobCount = async () => (await t.jobs()).length;
const handshake = (account: string, query: string) => fetch(`${t.url}/whatsapp/${account}?${query}`);

describe('whatsapp: verification request (GET handshake)', () => {
  it('answers hub.challenge exactly, as text/plain', async () => {
    const res = await handshake(
      'main',
      'hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wa-verify-token-0123',
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('1158201444');
    const odd = await handshake(
      'main',
      'hub.verify_token=wa-verify-token-0123&hub.challenge=ch%C3%A9+42%26x&hub.mode=subscribe',
    );
    expect(await odd.text()).toBe('ché 42&x');
  });

  it.each([
    ['wrong verify token', 'hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope', 403],
    ['another account’s token', 'hub.mode=subscribe&hub.challenge=1&hub.verify_token=routed-verify-42', 403],
    ['no verify token', 'hub.mode=subscribe&hub.challenge=1', 403],
    [
      'mode other than subscribe',
      'hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=wa-verify-token-0123',
      403,
    ],
    ['no challenge', 'hub.mode=subscribe&hub.verify_token=wa-verify-token-0123', 403],
    ['no query at all', '', 403],
  ])('%s → %i, no challenge echoed', async (_name, query, status) => {
    const res = await handshake('main', query);
    expect(res.status).toBe(status);
    expect(await res.text()).not.toContain('1158201444');
  });

  it('unknown account → 404', async () => {
    const res = await handshake(
      'nobody',
      'hub.mode=subscribe&hub.challenge=1&hub.verify_token=wa-verify-token-0123',
    );
    expect(res.status).toBe(404);
  });
});

describe('whatsapp: signed notifications', () => {
  it('queues one CloudEvent for a text message and answers 200 with an empty body', async () => {
    const body = fixtureBytes('text-message');
    const res = await t.post('/whatsapp/main', body, metaHeaders(body));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    const [event, ...rest] = (await t.jobs()).filter(
      (e) => e.data.message?.text === 'Does it come in another color?',
    );
    expect(rest).toHaveLength(0);
    expect(event).toMatchObject({
      specversion: '1.0',
      source: '/whatsapp/main',
      type: 'whatsapp.message',
      subject: '16505551234',
      channel: 'whatsapp',
      account: 'main',
      time: new Date(1749416383 * 1000).toISOString(),
      data: {
        message: { conversation: '16505551234', sender: '16505551234' },
        payload: { metadata: { phone_number_id: '106540352242922' } },
      },
    });
    const job = await t.queue().getJob(event?.id ?? '');
    expect(job?.name).toBe('whatsapp.message');
  });

  it('verifies unicode-escaped JSON on its raw bytes only (a re-serialized body fails)', async () => {
    const raw = fixtureBytes('text-message-unicode-escaped');
    expect(raw.toString()).toContain('\\u00e9');
    const ok = await t.post('/whatsapp/main', raw, metaHeaders(raw));
    expect(ok.status).toBe(200);
    const event = (await t.jobs()).find((e) => e.subject === '33612345678');
    expect(event?.data.message?.text).toBe('Café crème 😀 <b>');
    const reserialized = JSON.stringify(JSON.parse(raw.toString()));
    expect(reserialized).not.toBe(raw.toString());
    const bad = await t.post('/whatsapp/main', reserialized, metaHeaders(raw));
    expect(bad.status).toBe(401);
  });

  it('a batch makes one job per message, status and other change; its redelivery makes none', async () => {
    const body = fixtureBytes('batch');
    const before = await jobCount();
    expect((await t.post('/whatsapp/main', body, metaHeaders(body))).status).toBe(200);
    const after = await t.jobs();
    expect(after.length - before).toBe(5);
    const batch = after.filter(
      (e) => JSON.stringify(e.data.payload).includes('BATCH') || e.type === 'whatsapp.change',
    );
    expect(batch.map((e) => e.type).sort()).toEqual([
      'whatsapp.change',
      'whatsapp.message',
      'whatsapp.message',
      'whatsapp.status',
      'whatsapp.status',
    ]);
    expect((await t.post('/whatsapp/main', body, metaHeaders(body))).status).toBe(200);
    expect(await jobCount()).toBe(after.length);
  });

  it('accepts the second App Secret of a rotation list; sign() makes requests it accepts', async () => {
    const body = fixtureBytes('status-sent');
    expect(
      (await t.post('/whatsapp/main', body, metaHeaders(body, 'wa-app-secret-old-0123456789'))).status,
    ).toBe(200);
    const signed = whatsapp.sign(main, fixtureBytes('status-failed'));
    expect(signed).toMatchObject({ method: 'POST', path: '/whatsapp/main' });
    expect((await t.post(signed.path, fixtureBytes('status-failed'), { ...signed.headers })).status).toBe(
      200,
    );
  });

  it("routes an account's events to its queue", async () => {
    const body = fixtureBytes('image-caption');
    expect((await t.post('/whatsapp/routed', body, metaHeaders(body, 'routed-app-secret-42'))).status).toBe(
      200,
    );
    const [event] = await t.jobs('wa-other');
    expect(event).toMatchObject({
      account: 'routed',
      source: '/whatsapp/routed',
      data: { message: { text: 'This is the one' } },
    });
  });
});

describe('whatsapp: rejected requests make no job', () => {
  const body = fixtureBytes('interactive-button-reply');
  const good = metaHeaders(body);
  const tampered = Buffer.from(body);
  tampered[tampered.indexOf('Cancel')] = 'c'.charCodeAt(0);
  const notes = '{"object":"whatsapp_business_account"}';
  const cases: Array<[string, string, string | Buffer, Record<string, string>, number]> = [
    ['missing signature header', '/whatsapp/main', body, { 'content-type': 'application/json' }, 401],
    ['wrong app secret', '/whatsapp/main', body, metaHeaders(body, 'not-the-app-secret'), 401],
    ['rotated-out app secret', '/whatsapp/main', body, metaHeaders(body, 'wa-app-secret-older-0000000'), 401],
    ['another account’s secret', '/whatsapp/main', body, metaHeaders(body, 'routed-app-secret-42'), 401],
    ['tampered byte', '/whatsapp/main', tampered, good, 401],
    [
      'digest without sha256= prefix',
      '/whatsapp/main',
      body,
      { ...good, 'x-hub-signature-256': good['x-hub-signature-256'].slice(7) },
      401,
    ],
    [
      'upper-case digest',
      '/whatsapp/main',
      body,
      { ...good, 'x-hub-signature-256': `sha256=${good['x-hub-signature-256'].slice(7).toUpperCase()}` },
      401,
    ],
    ['unknown account', '/whatsapp/nobody', body, good, 404],
    ['malformed JSON, signed', '/whatsapp/main', '{"entry":[', metaHeaders('{"entry":['), 400],
    ['signed JSON that is not a notification', '/whatsapp/main', notes, metaHeaders(notes), 400],
    [
      'form body',
      '/whatsapp/main',
      'a=1',
      { ...metaHeaders('a=1'), 'content-type': 'application/x-www-form-urlencoded' },
      415,
    ],
  ];

  it.each(cases)('%s → %i', async (_name, path, payload, headers, status) => {
    const before = await jobCount();
    const res = await t.post(path, payload, headers);
    expect(res.status).toBe(status);
    expect(JSON.stringify(await res.json())).not.toMatch(/secret|sha256=/i);
    expect(await jobCount()).toBe(before);
  });

  it('405 for PUT', async () => {
    const res = await fetch(`${t.url}/whatsapp/main`, { method: 'PUT', body: '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
  });

  it('never writes an App Secret or verify token to the logs', () => {
    const text = t.logs.join('\n');
    expect(t.logs.length).toBeGreaterThan(5);
    for (const secret of [
      'wa-app-secret-new-0123456789',
      'wa-app-secret-old-0123456789',
      'wa-verify-token-0123',
      'routed-app-secret-42',
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});
