import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { EventWebhook } from '@sendgrid/eventwebhook';
import { verifyKey } from 'discord-interactions';
import twilioLib from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookAccount } from '../channels/webhook/config.js';
import { signWebhook } from '../channels/webhook/verify.js';
import { eventId } from '../src/queue/envelope.js';
import { startTestRelay, type TestRelay } from './support/relay.js';
import { until } from './support/until.js';

/**
 * The presets written as code (discord, sendgrid, twilio, mailgun) and the handshakes of zoom, twitch
 * and dropbox, through a real relay on loopback and the real Redis. Requests are signed the way the
 * sender's own library signs or verifies them (discord-interactions, @sendgrid/eventwebhook,
 * twilio-node); Mailgun, Zoom, Twitch and Dropbox publish recipes, written out here from their docs.
 */
const now = 1_800_000_000_000;
const nowSec = now / 1000;
const publicUrl = 'https://relay.example.com';
const secret = 'code-presets-secret-0123456789';
const adminToken = 'admin-token-for-code-presets';
const hmac = (alg: 'sha256', key: string, text: string, enc: 'hex' | 'base64' = 'hex') =>
  createHmac(alg, key).update(text).digest(enc);

const ed = generateKeyPairSync('ed25519');
const edHex = Buffer.from(ed.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('hex');
const edOther = generateKeyPairSync('ed25519').privateKey;
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecKey = ec.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const ecOther = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

let t: TestRelay;
beforeAll(async () => {
  const trigger = (name: string, auth: Record<string, unknown>) => ({ group: 'code', trigger: name, auth });
  t = await startTestRelay(
    {
      publicUrl,
      admin: { token: adminToken },
      server: { rateLimit: { enabled: false } },
      channels: {
        webhook: [
          trigger('discord', { scheme: 'discord', publicKey: [edHex] }),
          trigger('sendgrid', { scheme: 'sendgrid', publicKey: ecKey }),
          ...['twilio', 'mailgun', 'zoom', 'twitch', 'dropbox', 'github'].map((s) =>
            trigger(s, { scheme: s, secrets: [secret] }),
          ),
        ],
      },
    },
    { now: () => now },
  );
});
afterAll(() => t.close());

const count = async () => (await t.jobs()).length;
const idOf = (scheme: string, key: string) => eventId('webhook', `code/${scheme}`, key);

/** Posts and checks that nothing was queued: for every refusal and every handshake. */
async function queuesNothing(send: () => Promise<Response>): Promise<Response> {
  const before = await count();
  const res = await send();
  expect(await count()).toBe(before);
  return res;
}

describe('discord', () => {
  const headers = (body: string, key: KeyObject = ed.privateKey, ts = String(nowSec)) => ({
    'content-type': 'application/json',
    'x-signature-ed25519': sign(null, Buffer.from(ts + body), key).toString('hex'),
    'x-signature-timestamp': ts,
  });
  const post = (body: string, h: Record<string, string>) => t.post('/webhook/code/discord', body, h);
  const command = (id: string) =>
    JSON.stringify({ id, type: 2, token: 'tok', application_id: 'app', data: { name: 'ask' } });

  it('queues a command signed as discord-interactions verifies, answers the deferral, dedupes its id', async () => {
    const body = command('1100000000000000001');
    const h = headers(body);
    expect(await verifyKey(body, h['x-signature-ed25519'], h['x-signature-timestamp'], edHex)).toBe(true);
    const res = await post(body, h);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ type: 5 });
    const id = idOf('discord', '1100000000000000001');
    const job = (await t.queue().getJob(id))?.data;
    expect(job?.senderevent).toBe('APPLICATION_COMMAND');
    expect(job?.data.headers).not.toHaveProperty('x-signature-ed25519');
    await queuesNothing(() => post(body, headers(body)));
  });

  it('defers a component with type 6', async () => {
    const body = JSON.stringify({
      id: '1100000000000000002',
      type: 3,
      token: 'tok',
      application_id: 'app',
      message: {},
    });
    const res = await post(body, headers(body));
    expect(await res.json()).toEqual({ type: 6 });
  });

  it('answers a signed PING with PONG and queues nothing; refuses an unsigned or badly signed one with 401', async () => {
    const ping = JSON.stringify({ id: '1100000000000000003', type: 1, token: 'tok', application_id: 'app' });
    const pong = await queuesNothing(() => post(ping, headers(ping)));
    expect(pong.status).toBe(200);
    expect(await pong.json()).toEqual({ type: 1 });
    // Discord's own probe: a PING with a bad signature must get 401, or it refuses the URL.
    const forged = headers(ping, edOther);
    expect(await verifyKey(ping, forged['x-signature-ed25519'], forged['x-signature-timestamp'], edHex)).toBe(
      false,
    );
    expect((await queuesNothing(() => post(ping, forged))).status).toBe(401);
    expect((await queuesNothing(() => post(ping, { 'content-type': 'application/json' }))).status).toBe(401);
  });

  it('refuses a tampered body, a missing signature, a stale timestamp', async () => {
    const body = command('1100000000000000004');
    const h = headers(body);
    expect((await queuesNothing(() => post(body.replace('ask', 'asK'), h))).status).toBe(401);
    const { 'x-signature-ed25519': _, ...unsigned } = h;
    expect((await queuesNothing(() => post(body, unsigned))).status).toBe(401);
    const stale = headers(body, ed.privateKey, String(nowSec - 301));
    expect((await queuesNothing(() => post(body, stale))).status).toBe(401);
  });
});

describe('sendgrid', () => {
  const headers = (body: string, key: KeyObject = ec.privateKey, ts = String(nowSec)) => ({
    'content-type': 'application/json',
    'x-twilio-email-event-webhook-signature': sign('sha256', Buffer.from(ts + body), key).toString('base64'),
    'x-twilio-email-event-webhook-timestamp': ts,
  });
  const body =
    '[{"email":"a@example.com","event":"delivered","sg_event_id":"sg-1","timestamp":1800000000}]\r\n';
  const post = (text: string, h: Record<string, string>) => t.post('/webhook/code/sendgrid', text, h);

  it('queues a batch signed as @sendgrid/eventwebhook verifies, once', async () => {
    const h = headers(body);
    const library = new EventWebhook();
    const key = library.convertPublicKeyToECDSA(ecKey);
    const [signature, timestamp] = [
      h['x-twilio-email-event-webhook-signature'],
      h['x-twilio-email-event-webhook-timestamp'],
    ];
    expect(library.verifySignature(key, body, signature, timestamp)).toBe(true);
    const res = await post(body, h);
    expect(res.status).toBe(202);
    expect(((await res.json()) as { ids: string[] }).ids).toEqual([idOf('sendgrid', 'sg-1')]);
    expect((await t.queue().getJob(idOf('sendgrid', 'sg-1')))?.data.senderevent).toBe('delivered');
    await queuesNothing(() => post(body, headers(body)));
  });

  it('refuses a tampered body, another key, a missing signature, a stale timestamp', async () => {
    const fresh = body.replace('sg-1', 'sg-2');
    expect(
      (await queuesNothing(() => post(fresh.replace('delivered', 'bounce'), headers(fresh)))).status,
    ).toBe(401);
    expect((await queuesNothing(() => post(fresh, headers(fresh, ecOther)))).status).toBe(401);
    expect((await queuesNothing(() => post(fresh, { 'content-type': 'application/json' }))).status).toBe(401);
    expect(
      (await queuesNothing(() => post(fresh, headers(fresh, ec.privateKey, String(nowSec - 400))))).status,
    ).toBe(401);
  });
});

describe('twilio', () => {
  const path = '/webhook/code/twilio?route=sms';
  const params = (sid: string) => ({
    MessageSid: sid,
    From: '+14155550100',
    Body: 'héllo & "bye"',
    SmsStatus: 'received',
  });
  const form = (p: Record<string, string>) => new URLSearchParams(p).toString();
  const headers = (signature: string, idem?: string) => ({
    'content-type': 'application/x-www-form-urlencoded',
    'x-twilio-signature': signature,
    ...(idem ? { 'i-twilio-idempotency-token': idem } : {}),
  });

  it('queues a form webhook signed by twilio-node over publicUrl + path + query; a retry makes no new job', async () => {
    const url = `${publicUrl}${path}`;
    const signature = twilioLib.getExpectedTwilioSignature(secret, url, params('SM1'));
    expect(twilioLib.validateRequest(secret, signature, url, params('SM1'))).toBe(true);
    const res = await t.post(path, form(params('SM1')), headers(signature, 'idem-1'));
    expect(res.status).toBe(202);
    const id = idOf('twilio', 'idem-1');
    expect(((await res.json()) as { ids: string[] }).ids).toEqual([id]);
    expect((await t.queue().getJob(id))?.data.senderevent).toBe('message.received');
    await queuesNothing(() => t.post(path, form(params('SM1')), headers(signature, 'idem-1')));
  });

  it('queues a JSON body signed through bodySHA256', async () => {
    const body = '{"type":"com.twilio.messaging.message.delivered","id":"EV1"}';
    const jsonPath = `/webhook/code/twilio?bodySHA256=${twilioLib.getExpectedBodyHash(body)}`;
    const signature = twilioLib.getExpectedTwilioSignature(secret, `${publicUrl}${jsonPath}`, {});
    const res = await t.post(jsonPath, body, {
      'content-type': 'application/json',
      'x-twilio-signature': signature,
    });
    expect(res.status).toBe(202);
    const tampered = body.replace('EV1', 'EV2');
    expect(
      (
        await queuesNothing(() =>
          t.post(jsonPath, tampered, { 'content-type': 'application/json', 'x-twilio-signature': signature }),
        )
      ).status,
    ).toBe(401);
  });

  it('relay sign makes a request the twilio trigger accepts', async () => {
    const account = webhookAccount.parse({
      group: 'code',
      trigger: 'twilio',
      auth: { scheme: 'twilio', secrets: [secret] },
    });
    const signed = signWebhook(account, Buffer.from('MessageSid=SM7&SmsStatus=received'), now, publicUrl);
    const res = await t.post(signed.path, 'MessageSid=SM7&SmsStatus=received', signed.headers);
    expect(res.status).toBe(202);
  });

  it('refuses a wrong URL (and logs the URL it checked), a tampered parameter, a missing signature', async () => {
    const elsewhere = twilioLib.getExpectedTwilioSignature(
      secret,
      `http://relay.example.com${path}`,
      params('SM2'),
    );
    expect((await queuesNothing(() => t.post(path, form(params('SM2')), headers(elsewhere)))).status).toBe(
      401,
    );
    const entries = await t.relay.redis.xrevrange(`${t.prefix}:relay:rejections`, '+', '-', 'COUNT', 5);
    const flat = entries.map(([, fields]) => fields.join(' ')).join('\n');
    expect(flat).toContain(`${publicUrl}${path}`);
    expect(flat).not.toContain(secret);

    const signature = twilioLib.getExpectedTwilioSignature(secret, `${publicUrl}${path}`, params('SM2'));
    const tampered = form({ ...params('SM2'), Body: 'hello' });
    expect((await queuesNothing(() => t.post(path, tampered, headers(signature)))).status).toBe(401);
    const unsigned = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await queuesNothing(() => t.post(path, form(params('SM2')), unsigned))).status).toBe(401);
  });
});

describe('mailgun', () => {
  const body = (token: string, ts = String(nowSec), key = secret, id = 'ev-1') =>
    JSON.stringify({
      signature: { timestamp: ts, token, signature: hmac('sha256', key, ts + token) },
      'event-data': { id, event: 'delivered', recipient: 'a@example.com' },
    });
  const post = (text: string) =>
    t.post('/webhook/code/mailgun', text, { 'content-type': 'application/json' });
  const token = 'a'.repeat(49);

  it('queues a signed event; a replay of its token with another body makes no new job', async () => {
    const res = await post(body(`${token}1`));
    expect(res.status).toBe(202);
    const id = idOf('mailgun', `${token}1`);
    expect(((await res.json()) as { ids: string[] }).ids).toEqual([id]);
    expect((await t.queue().getJob(id))?.data.senderevent).toBe('delivered');
    const replay = await queuesNothing(() => post(body(`${token}1`).replace('ev-1', 'ev-forged')));
    expect(((await replay.json()) as { ids: string[] }).ids).toEqual([id]);
  });

  it('refuses another key, a tampered token, a missing signature, a stale timestamp', async () => {
    expect((await queuesNothing(() => post(body(`${token}2`, String(nowSec), 'another-key')))).status).toBe(
      401,
    );
    expect(
      (await queuesNothing(() => post(body(`${token}2`).replace(`${token}2`, `${token}3`)))).status,
    ).toBe(401);
    expect((await queuesNothing(() => post('{"event-data":{"event":"delivered"}}'))).status).toBe(401);
    expect((await queuesNothing(() => post(body(`${token}2`, String(nowSec - 301))))).status).toBe(401);
  });
});

describe('handshakes', () => {
  const zoomHeaders = (body: string, key = secret) => ({
    'content-type': 'application/json',
    'x-zm-request-timestamp': String(nowSec),
    'x-zm-signature': `v0=${hmac('sha256', key, `v0:${nowSec}:${body}`)}`,
  });

  it('zoom: answers a signed endpoint.url_validation with plainToken and its encryptedToken; 401 unsigned', async () => {
    const body = JSON.stringify({
      event: 'endpoint.url_validation',
      payload: { plainToken: 'qgg8vlvZRS6UYooatFL8Aw' },
      event_ts: 1,
    });
    const res = await queuesNothing(() => t.post('/webhook/code/zoom', body, zoomHeaders(body)));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
      encryptedToken: hmac('sha256', secret, 'qgg8vlvZRS6UYooatFL8Aw'),
    });
    const forged = await queuesNothing(() => t.post('/webhook/code/zoom', body, zoomHeaders(body, 'wrong')));
    expect(forged.status).toBe(401);
    const event = JSON.stringify({ event: 'meeting.started', event_ts: 2, payload: {} });
    expect((await t.post('/webhook/code/zoom', event, zoomHeaders(event))).status).toBe(202);
  });

  const twitchHeaders = (type: string, body: string, id: string, key = secret) => {
    const ts = new Date(now).toISOString();
    return {
      'content-type': 'application/json',
      'twitch-eventsub-message-id': id,
      'twitch-eventsub-message-timestamp': ts,
      'twitch-eventsub-message-type': type,
      'twitch-eventsub-subscription-type': 'channel.follow',
      'twitch-eventsub-message-signature': `sha256=${hmac('sha256', key, id + ts + body)}`,
    };
  };

  it('twitch: answers a signed webhook_callback_verification with the raw challenge; queues a revocation as one', async () => {
    const body = JSON.stringify({
      challenge: 'pogchamp-kappa-360noscope-vohiyo',
      subscription: { type: 'channel.follow' },
    });
    const res = await queuesNothing(() =>
      t.post('/webhook/code/twitch', body, twitchHeaders('webhook_callback_verification', body, 'tw-1')),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('pogchamp-kappa-360noscope-vohiyo');
    const forged = twitchHeaders('webhook_callback_verification', body, 'tw-2', 'wrong');
    expect((await queuesNothing(() => t.post('/webhook/code/twitch', body, forged))).status).toBe(401);

    const revoked = JSON.stringify({
      subscription: { type: 'channel.follow', status: 'authorization_revoked' },
    });
    const rev = await t.post('/webhook/code/twitch', revoked, twitchHeaders('revocation', revoked, 'tw-3'));
    expect(rev.status).toBe(202);
    expect((await t.queue().getJob(idOf('twitch', 'tw-3')))?.data.senderevent).toBe('revocation');
  });

  it('dropbox: echoes GET ?challenge= as text/plain with nosniff; other GETs are refused', async () => {
    const res = await queuesNothing(() => fetch(`${t.url}/webhook/code/dropbox?challenge=abc123XYZ`));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toBe('abc123XYZ');
    expect((await fetch(`${t.url}/webhook/code/dropbox`)).status).toBe(401);
    const github = await fetch(`${t.url}/webhook/code/github?challenge=abc`);
    expect(github.status).toBe(405);
    expect(github.headers.get('allow')).toBe('POST, PUT');
    const body = '{"list_folder":{"accounts":["dbid:1"]}}';
    const signed = {
      'content-type': 'application/json',
      'x-dropbox-signature': hmac('sha256', secret, body),
    };
    expect((await t.post('/webhook/code/dropbox', body, signed)).status).toBe(202);
  });
});

describe('run-time triggers', () => {
  const put = (id: string, body: object) =>
    fetch(`${t.opsUrl}/admin/triggers/${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('a discord trigger created at run time verifies with its public key; a key that is none is refused', async () => {
    expect((await put('rt/bad-key', { scheme: 'discord', secret: 'z'.repeat(64) })).status).toBe(400);
    expect((await put('rt/discord', { scheme: 'discord', secret: edHex })).status).toBe(201);
    const body = JSON.stringify({ id: '1100000000000000099', type: 2, token: 'tok', application_id: 'app' });
    const h = {
      'content-type': 'application/json',
      'x-signature-ed25519': sign(null, Buffer.from(String(nowSec) + body), ed.privateKey).toString('hex'),
      'x-signature-timestamp': String(nowSec),
    };
    const res = await until(async () => {
      const r = await t.post('/webhook/rt/discord', body, h);
      return r.status === 404 ? undefined : r;
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ type: 5 });
    expect((await t.post('/webhook/rt/discord', body, { ...h, 'x-signature-timestamp': '1' })).status).toBe(
      401,
    );
  });

  it('a twilio trigger created at run time signs over publicUrl + path', async () => {
    expect((await put('rt/twilio', { scheme: 'twilio', secret })).status).toBe(201);
    const params = { MessageSid: 'SM99', SmsStatus: 'received' };
    const signature = twilioLib.getExpectedTwilioSignature(secret, `${publicUrl}/webhook/rt/twilio`, params);
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature };
    const res = await until(async () => {
      const r = await t.post('/webhook/rt/twilio', new URLSearchParams(params).toString(), headers);
      return r.status === 404 ? undefined : r;
    });
    expect(res.status).toBe(202);
  });
});
