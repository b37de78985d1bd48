import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { EventWebhook } from '@sendgrid/eventwebhook';
import { verifyKey } from 'discord-interactions';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { ConfigError } from '../../errors.js';
import { discord } from './discord.js';
import { sendgrid } from './sendgrid.js';
import type { PresetInput } from './types.js';

/**
 * The public-key presets: requests are signed with a node:crypto key pair, and each test first checks
 * that the sender's own library (discord-interactions' verifyKey, @sendgrid/eventwebhook) accepts the
 * request, so what the preset accepts is what the sender's code accepts.
 */
const nowMs = 1_764_000_000_000;
const nowSec = String(nowMs / 1000);

function input(headers: Record<string, string>, body: string): PresetInput {
  return {
    method: 'POST',
    url: 'https://relay.example.com/webhook/g/t',
    headers,
    query: new URLSearchParams(),
    body: Buffer.from(body),
    mediaType: 'application/json',
  };
}

const creds = (publicKeys: readonly string[]) => ({ secrets: [], publicKeys });

describe('discord', () => {
  const pair = () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('hex');
    return { hex: raw, privateKey };
  };
  const app = pair();
  const other = pair();

  const signed = (body: string, key: KeyObject = app.privateKey, ts = nowSec) => ({
    'x-signature-ed25519': sign(null, Buffer.from(ts + body), key).toString('hex'),
    'x-signature-timestamp': ts,
  });

  const command = JSON.stringify({
    id: '1234567890',
    type: 2,
    token: 't',
    application_id: 'a',
    data: { name: 'hi' },
  });

  it("accepts what discord-interactions' verifyKey accepts", async () => {
    const headers = signed(command);
    expect(
      await verifyKey(command, headers['x-signature-ed25519'], headers['x-signature-timestamp'], app.hex),
    ).toBe(true);
    expect(discord.verify(input(headers, command), creds([app.hex]), nowMs)).toEqual({ ok: true });
  });

  it('refuses a tampered body, another key, a missing header, a bad signature and a stale timestamp', async () => {
    const headers = signed(command);
    const tampered = command.replace('hi', 'ho');
    expect(await verifyKey(tampered, headers['x-signature-ed25519'], nowSec, app.hex)).toBe(false);
    expect(discord.verify(input(headers, tampered), creds([app.hex]), nowMs)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(discord.verify(input(headers, command), creds([other.hex]), nowMs)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(
      discord.verify(input(signed(command, other.privateKey), command), creds([app.hex]), nowMs).ok,
    ).toBe(false);
    for (const name of Object.keys(headers)) {
      const rest: Record<string, string> = { ...headers };
      delete rest[name];
      expect(discord.verify(input(rest, command), creds([app.hex]), nowMs)).toEqual({
        ok: false,
        reason: 'missing',
      });
    }
    const garbled = { ...headers, 'x-signature-ed25519': `zz${headers['x-signature-ed25519'].slice(2)}` };
    expect(discord.verify(input(garbled, command), creds([app.hex]), nowMs).ok).toBe(false);
    const old = String(nowMs / 1000 - 301);
    expect(
      discord.verify(input(signed(command, app.privateKey, old), command), creds([app.hex]), nowMs),
    ).toEqual({
      ok: false,
      reason: 'stale',
      skewSec: 301,
    });
    // The timestamp is signed: moving it into the window breaks the signature.
    const moved = { ...signed(command, app.privateKey, old), 'x-signature-timestamp': nowSec };
    expect(discord.verify(input(moved, command), creds([app.hex]), nowMs)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('accepts any key of a rotation list, and refuses an unreadable key without throwing', () => {
    const headers = signed(command);
    expect(discord.verify(input(headers, command), creds([other.hex, app.hex]), nowMs).ok).toBe(true);
    expect(discord.verify(input(headers, command), creds(['not-hex']), nowMs).ok).toBe(false);
  });

  it('answers a signed PING with PONG and queues nothing', () => {
    const ping = { id: '1', type: 1, token: 't', application_id: 'a' };
    expect(discord.handshake?.(input({}, ''), ping, creds([app.hex]), nowMs)).toEqual({
      status: 200,
      body: { type: 1 },
    });
    expect(discord.handshake?.(input({}, ''), JSON.parse(command), creds([app.hex]), nowMs)).toBeUndefined();
  });

  it('defers each interaction type the way Discord allows, after it is queued', () => {
    const reply = (payload: object) => discord.reply?.(['id'], payload);
    expect(reply({ id: '1', type: 2 })).toEqual({ status: 200, body: { type: 5 } });
    expect(reply({ id: '1', type: 3, message: {} })).toEqual({ status: 200, body: { type: 6 } });
    expect(reply({ id: '1', type: 4 })).toEqual({ status: 200, body: { type: 8, data: { choices: [] } } });
    expect(reply({ id: '1', type: 5 })).toEqual({ status: 200, body: { type: 5 } });
    expect(reply({ id: '1', type: 5, message: {} })).toEqual({ status: 200, body: { type: 6 } });
  });

  it('names the interaction type and keys on the interaction id', () => {
    const payload = JSON.parse(command);
    expect(discord.eventName(input({}, command), payload)).toBe('APPLICATION_COMMAND');
    expect(discord.eventName(input({}, command), { id: '1', type: 3 })).toBe('MESSAGE_COMPONENT');
    expect(discord.deliveryKey(input({}, command), payload)).toBe('1234567890');
  });

  it('answers webhook-event PINGs with 204 and queues events, named by their type', () => {
    const ping = { version: 1, application_id: 'a', type: 0 };
    const event = {
      version: 1,
      application_id: 'a',
      type: 1,
      event: { type: 'APPLICATION_AUTHORIZED', data: {} },
    };
    expect(discord.handshake?.(input({}, ''), ping, creds([app.hex]), nowMs)).toEqual({ status: 204 });
    expect(discord.handshake?.(input({}, ''), event, creds([app.hex]), nowMs)).toBeUndefined();
    expect(discord.eventName(input({}, ''), event)).toBe('APPLICATION_AUTHORIZED');
    expect(discord.reply?.(['id'], event)).toEqual({ status: 204 });
  });
});

describe('sendgrid', () => {
  // @sendgrid/eventwebhook's own test vector (src/eventwebhook.spec.js), with its trailing CRLF.
  const vector = {
    key: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==',
    signature:
      'MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=',
    timestamp: '1600112502',
    body: `${JSON.stringify([
      {
        email: 'hello@world.com',
        event: 'dropped',
        reason: 'Bounced Address',
        sg_event_id: 'ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA',
        sg_message_id: 'LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0',
        'smtp-id': '<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>',
        timestamp: 1600112492,
      },
    ])}\r\n`,
  };
  const headersOf = (signature: string, timestamp: string) => ({
    'x-twilio-email-event-webhook-signature': signature,
    'x-twilio-email-event-webhook-timestamp': timestamp,
  });
  const library = new EventWebhook();
  const libraryAccepts = (key: string, body: string, signature: string, timestamp: string) =>
    library.verifySignature(library.convertPublicKeyToECDSA(key), body, signature, timestamp);

  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ours = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const theirs = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
    format: 'der',
    type: 'spki',
  });
  const body =
    '[{"email":"a@b.c","event":"delivered","sg_event_id":"e1"},{"email":"a@b.c","event":"open","sg_event_id":"e2"}]\r\n';
  const signed = (text: string, ts = nowSec) =>
    headersOf(sign('sha256', Buffer.from(ts + text), privateKey).toString('base64'), ts);

  it("verifies the library's own vector", () => {
    expect(libraryAccepts(vector.key, vector.body, vector.signature, vector.timestamp)).toBe(true);
    const at = Number(vector.timestamp) * 1000;
    const req = input(headersOf(vector.signature, vector.timestamp), vector.body);
    expect(sendgrid.verify(req, creds([vector.key]), at)).toEqual({ ok: true });
    expect(
      sendgrid.verify(req, creds([`-----BEGIN PUBLIC KEY-----\n${vector.key}\n-----END PUBLIC KEY-----`]), at)
        .ok,
    ).toBe(true);
  });

  it('accepts what @sendgrid/eventwebhook accepts, and refuses tampering, another key, missing headers, staleness', () => {
    const headers = signed(body);
    const [signature, timestamp] = Object.values(headers) as [string, string];
    expect(libraryAccepts(ours, body, signature, timestamp)).toBe(true);
    expect(sendgrid.verify(input(headers, body), creds([ours]), nowMs)).toEqual({ ok: true });
    expect(sendgrid.verify(input(headers, body), creds([theirs.toString('base64'), ours]), nowMs).ok).toBe(
      true,
    );

    const tampered = body.replace('open', 'click');
    expect(libraryAccepts(ours, tampered, signature, timestamp)).toBe(false);
    expect(sendgrid.verify(input(headers, tampered), creds([ours]), nowMs)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(sendgrid.verify(input(headers, body), creds([theirs.toString('base64')]), nowMs).ok).toBe(false);
    expect(sendgrid.verify(input(headers, body), creds(['not a key']), nowMs).ok).toBe(false);
    expect(
      sendgrid.verify(
        input({ ...headers, 'x-twilio-email-event-webhook-signature': '' }, body),
        creds([ours]),
        nowMs,
      ),
    ).toEqual({ ok: false, reason: 'missing' });
    expect(
      sendgrid.verify(
        input({ 'x-twilio-email-event-webhook-signature': signature }, body),
        creds([ours]),
        nowMs,
      ),
    ).toEqual({ ok: false, reason: 'missing' });
    const old = String(nowMs / 1000 - 600);
    expect(sendgrid.verify(input(signed(body, old), body), creds([ours]), nowMs)).toEqual({
      ok: false,
      reason: 'stale',
      skewSec: 600,
    });
    expect(
      sendgrid.verify(
        input({ ...signed(body, old), 'x-twilio-email-event-webhook-timestamp': nowSec }, body),
        creds([ours]),
        nowMs,
      ).ok,
    ).toBe(false);
  });

  it('keys a batch on its sg_event_ids and names its events', () => {
    const payload = JSON.parse(body);
    expect(sendgrid.deliveryKey(input({}, body), payload)).toBe('e1,e2');
    expect(sendgrid.eventName(input({}, body), payload)).toBe('delivered,open');
    expect(sendgrid.eventName(input({}, body), [payload[0], payload[0]])).toBe('delivered');
    expect(sendgrid.deliveryKey(input({}, body), [{ event: 'open' }])).toBeUndefined();
  });
});

describe('public keys in the config', () => {
  const config = (scheme: string, publicKey: unknown) => ({
    channels: { webhook: [{ group: 'g', trigger: 't', auth: { scheme, publicKey } }] },
  });
  const problems = (raw: unknown): readonly string[] => {
    try {
      parseConfig(raw, {});
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it('takes a hex Ed25519 key for discord and a base64 or PEM P-256 key for sendgrid', () => {
    const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x ?? '';
    expect(problems(config('discord', Buffer.from(ed, 'base64url').toString('hex')))).toEqual([]);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(
      problems(config('sendgrid', ec.export({ format: 'der', type: 'spki' }).toString('base64'))),
    ).toEqual([]);
    expect(problems(config('sendgrid', ec.export({ format: 'pem', type: 'spki' })))).toEqual([]);
  });

  it('refuses at load a key that cannot be one, saying what a key looks like', () => {
    expect(problems(config('discord', ['ab'.repeat(32), 'xyz']))).toEqual([
      'channels.webhook.0.auth.publicKey: must be an Ed25519 public key: 64 hex characters',
    ]);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    expect(
      problems(config('sendgrid', p384.export({ format: 'der', type: 'spki' }).toString('base64'))),
    ).toEqual([
      'channels.webhook.0.auth.publicKey: must be an ECDSA P-256 public key: base64 (MFkwEwYHKoZIzj0CAQYI…) or PEM',
    ]);
  });
});
