import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mailgun } from './mailgun.js';
import type { PresetInput } from './types.js';

/**
 * Mailgun publishes no signing library; its docs give the rule
 * (https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks): hex
 * HMAC-SHA256 of timestamp + token under the webhook signing key. The expected signatures below are
 * computed here with node:crypto from that text, independently of the preset's own signMailgun.
 */
const key = 'key-3ax6xnjp29jd6fds4gc373sgvjxteol0';
const parentKey = 'key-parent-0000000000000000000000';
const nowMs = 1_770_920_772_000;
const timestamp = '1770920772';
const token = 'e0b5477167110d68991efc6b9f89f0a11066af27834600e123';
const hmac = (k: string, text: string) => createHmac('sha256', k).update(text).digest('hex');
const creds = (secrets: readonly string[]) => ({ secrets, publicKeys: [] });

function input(body: string, mediaType = 'application/json'): PresetInput {
  return {
    method: 'POST',
    url: '',
    headers: {},
    query: new URLSearchParams(),
    body: Buffer.from(body),
    mediaType,
  };
}

const jsonBody = (signature: Record<string, string>) =>
  JSON.stringify({ signature, 'event-data': { id: 'CPgfbmQMTCKtHW6uIWtuVe', event: 'delivered' } });
const signature = { timestamp, token, signature: hmac(key, timestamp + token) };

describe('mailgun', () => {
  it('accepts a JSON webhook signed as the docs say, and its subaccount parent-signature', () => {
    expect(mailgun.verify(input(jsonBody(signature)), creds([key]), nowMs)).toEqual({ ok: true });
    const sub = { ...signature, signature: hmac('key-of-the-subaccount', timestamp + token) };
    const withParent = { ...sub, 'parent-signature': hmac(parentKey, timestamp + token) };
    expect(mailgun.verify(input(jsonBody(withParent)), creds([parentKey]), nowMs).ok).toBe(true);
    expect(mailgun.verify(input(jsonBody(sub)), creds([parentKey]), nowMs).ok).toBe(false);
  });

  it('accepts a legacy form post with the fields at the top', () => {
    const form = new URLSearchParams({ ...signature, event: 'delivered', 'Message-Id': '<m@x>' }).toString();
    expect(mailgun.verify(input(form, 'application/x-www-form-urlencoded'), creds([key]), nowMs)).toEqual({
      ok: true,
    });
  });

  it('refuses a tampered token or timestamp, another key, a missing proof, an unreadable body', () => {
    const tampered = { ...signature, token: `${token.slice(0, -1)}4` };
    expect(mailgun.verify(input(jsonBody(tampered)), creds([key]), nowMs)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    const moved = { ...signature, timestamp: String(Number(timestamp) + 1) };
    expect(mailgun.verify(input(jsonBody(moved)), creds([key]), nowMs).ok).toBe(false);
    expect(mailgun.verify(input(jsonBody(signature)), creds(['key-other']), nowMs).ok).toBe(false);
    expect(mailgun.verify(input(jsonBody(signature)), creds(['key-other', key]), nowMs).ok).toBe(true);
    const { signature: _, ...unsigned } = signature;
    expect(mailgun.verify(input(jsonBody(unsigned)), creds([key]), nowMs)).toEqual({
      ok: false,
      reason: 'missing',
    });
    expect(mailgun.verify(input('{"event-data":{}}'), creds([key]), nowMs)).toEqual({
      ok: false,
      reason: 'missing',
    });
    expect(mailgun.verify(input('{not json'), creds([key]), nowMs)).toEqual({ ok: false, reason: 'missing' });
    // Multipart and other types are never parsed for a proof.
    expect(mailgun.verify(input(jsonBody(signature), 'multipart/form-data'), creds([key]), nowMs).ok).toBe(
      false,
    );
    expect(mailgun.verify(input(jsonBody(signature), 'text/plain'), creds([key]), nowMs).ok).toBe(false);
  });

  it('refuses a stale timestamp, even correctly signed', () => {
    const old = String(Number(timestamp) - 301);
    const stale = { timestamp: old, token, signature: hmac(key, old + token) };
    expect(mailgun.verify(input(jsonBody(stale)), creds([key]), nowMs)).toEqual({
      ok: false,
      reason: 'stale',
      skewSec: 301,
    });
  });

  it('keys on the signed token (event-data is not signed: a replay with another body is the same delivery)', () => {
    const payload = JSON.parse(jsonBody(signature));
    expect(mailgun.deliveryKey(input(''), payload)).toBe(token);
    expect(mailgun.eventName(input(''), payload)).toBe('delivered');
    expect(mailgun.deliveryKey(input(''), { ...signature, event: 'opened' })).toBe(token);
    expect(mailgun.eventName(input(''), { ...signature, event: 'opened' })).toBe('opened');
  });
});
