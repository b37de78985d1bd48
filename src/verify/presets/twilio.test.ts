import twilioLib from 'twilio';
import { describe, expect, it } from 'vitest';
import { twilioUrlVariants } from '../twilio.js';
import { twilio } from './twilio.js';
import type { PresetInput } from './types.js';

/**
 * Requests are signed by twilio-node's getExpectedTwilioSignature, and each is first checked with its
 * validateRequest / validateRequestWithBody, so the preset accepts what Twilio's own code accepts.
 */
const token = '12345678901234567890123456789012';
const creds = { secrets: [token], publicKeys: [] };
const url = 'https://relay.example.com/webhook/sms/in';

function formInput(targetUrl: string, form: string, headers: Record<string, string>): PresetInput {
  return {
    method: 'POST',
    url: targetUrl,
    headers,
    query: new URL(targetUrl).searchParams,
    body: Buffer.from(form),
    mediaType: 'application/x-www-form-urlencoded',
  };
}

/** The params object express's urlencoded parser would hand twilio-node: repeated names become arrays. */
function paramsOf(form: string): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(form)) {
    const prior = params[name];
    params[name] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
  }
  return params;
}

const form =
  'MessageSid=SM123&From=%2B14155550100&To=%2B14155550199&Body=Hello+%26+caf%C3%A9+%F0%9F%98%80&SmsStatus=received&MediaUrl0=b&MediaUrl0=a&MediaUrl0=b';

describe('twilio', () => {
  it('accepts a form webhook signed by twilio-node, repeated names and unicode included', () => {
    const signature = twilioLib.getExpectedTwilioSignature(token, url, paramsOf(form));
    expect(twilioLib.validateRequest(token, signature, url, paramsOf(form))).toBe(true);
    expect(twilio.verify(formInput(url, form, { 'x-twilio-signature': signature }), creds, 0)).toEqual({
      ok: true,
    });
  });

  it('signs as twilio-node does (relay sign and tests)', () => {
    const headers = twilio.sign?.(creds, Buffer.from(form), 0, url) ?? {};
    expect(headers['x-twilio-signature']).toBe(
      twilioLib.getExpectedTwilioSignature(token, url, paramsOf(form)),
    );
  });

  it('accepts a URL signed with or without its default port, as twilio-node does', () => {
    const withPort = 'https://relay.example.com:443/webhook/sms/in?x=1';
    const withoutPort = 'https://relay.example.com/webhook/sms/in?x=1';
    for (const [signedUrl, receivedUrl] of [
      [withPort, withoutPort],
      [withoutPort, withPort],
    ] as const) {
      const signature = twilioLib.getExpectedTwilioSignature(token, signedUrl, paramsOf(form));
      expect(twilioLib.validateRequest(token, signature, receivedUrl, paramsOf(form))).toBe(true);
      expect(
        twilio.verify(formInput(receivedUrl, form, { 'x-twilio-signature': signature }), creds, 0).ok,
      ).toBe(true);
    }
    expect(twilioUrlVariants('http://u:p@[::1]:8080/a?b=c')).toEqual([
      'http://u:p@[::1]/a?b=c',
      'http://u:p@[::1]:8080/a?b=c',
    ]);
  });

  it('refuses a wrong URL, a tampered parameter, another token, a missing signature', () => {
    const signature = twilioLib.getExpectedTwilioSignature(token, url, paramsOf(form));
    const headers = { 'x-twilio-signature': signature };
    const elsewhere = 'https://relay.example.com/webhook/sms/other';
    expect(twilioLib.validateRequest(token, signature, elsewhere, paramsOf(form))).toBe(false);
    expect(twilio.verify(formInput(elsewhere, form, headers), creds, 0)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(
      twilio.verify(formInput('http://relay.example.com/webhook/sms/in', form, headers), creds, 0).ok,
    ).toBe(false);
    const tampered = form.replace('SM123', 'SM124');
    expect(twilio.verify(formInput(url, tampered, headers), creds, 0)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(twilio.verify(formInput(url, `${form}&Extra=1`, headers), creds, 0).ok).toBe(false);
    expect(twilio.verify(formInput(url, form, headers), { secrets: ['another'], publicKeys: [] }, 0).ok).toBe(
      false,
    );
    expect(twilio.verify(formInput(url, form, {}), creds, 0)).toEqual({ ok: false, reason: 'missing' });
    expect(twilio.verify(formInput(url, form, { 'x-twilio-signature': '' }), creds, 0)).toEqual({
      ok: false,
      reason: 'missing',
    });
  });

  it('accepts any token of a rotation list', () => {
    const signature = twilioLib.getExpectedTwilioSignature(token, url, paramsOf(form));
    const rotated = { secrets: ['new-token', token], publicKeys: [] };
    expect(twilio.verify(formInput(url, form, { 'x-twilio-signature': signature }), rotated, 0).ok).toBe(
      true,
    );
  });

  it('verifies a JSON body through bodySHA256, and refuses a body that does not match it', () => {
    const body = '{"type":"com.twilio.messaging.message.delivered","id":"EV1"}';
    const jsonUrl = `${url}?bodySHA256=${twilioLib.getExpectedBodyHash(body)}`;
    const signature = twilioLib.getExpectedTwilioSignature(token, jsonUrl, {});
    expect(twilioLib.validateRequestWithBody(token, signature, jsonUrl, body)).toBe(true);
    const req = (text: string): PresetInput => ({
      ...formInput(jsonUrl, text, { 'x-twilio-signature': signature }),
      mediaType: 'application/json',
    });
    expect(twilio.verify(req(body), creds, 0)).toEqual({ ok: true });
    const tampered = body.replace('EV1', 'EV2');
    expect(twilioLib.validateRequestWithBody(token, signature, jsonUrl, tampered)).toBe(false);
    expect(twilio.verify(req(tampered), creds, 0)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('verifies SharedKey webhooks with the algorithm their settings header names', () => {
    const settings = 'key=webhooks_sharedkey_1,algorithm=HMAC_SHA256';
    const algorithm = twilioLib.getSignatureAlgorithm(settings);
    const signature = twilioLib.getExpectedTwilioSignature(token, url, paramsOf(form), algorithm);
    expect(twilioLib.validateRequest(token, signature, url, paramsOf(form), algorithm)).toBe(true);
    const headers = { 'x-twilio-signature': signature, 'x-twilio-webhooks-signature-settings': settings };
    expect(twilio.verify(formInput(url, form, headers), creds, 0).ok).toBe(true);
    // The same signature read as SHA-1 (settings header removed) or under an unknown algorithm fails.
    expect(twilio.verify(formInput(url, form, { 'x-twilio-signature': signature }), creds, 0).ok).toBe(false);
    const unknown = { ...headers, 'x-twilio-webhooks-signature-settings': 'algorithm=HMAC_SHA512' };
    expect(twilio.verify(formInput(url, form, unknown), creds, 0).ok).toBe(false);
  });

  it('keys on I-Twilio-Idempotency-Token and names the event', () => {
    const req = formInput(url, form, { 'i-twilio-idempotency-token': 'idem-1' });
    expect(twilio.deliveryKey(req, paramsOf(form))).toBe('idem-1');
    expect(twilio.deliveryKey(formInput(url, form, {}), paramsOf(form))).toBeUndefined();
    expect(twilio.eventName(req, paramsOf(form))).toBe('message.received');
    expect(twilio.eventName(req, { CallSid: 'CA1', CallStatus: 'ringing' })).toBe('call.ringing');
    expect(twilio.eventName(req, { EventType: 'onMessageAdded', MessageStatus: 'x' })).toBe('onMessageAdded');
    expect(twilio.eventName(req, [{ type: 'com.twilio.messaging.message.delivered' }])).toBe(
      'com.twilio.messaging.message.delivered',
    );
  });
});
