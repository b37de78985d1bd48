import { describe, expect, it } from 'vitest';
import { RejectedError } from '../errors.js';
import { sha256Hex, signHmac, verifyHmac } from './hmac.js';
import { keySetAt } from './key-sets.js';
import { signStandardWebhook, verifyStandardWebhook } from './standard-webhooks.js';
import { checkTimestamp } from './timestamp.js';
import { bearerToken, verifyToken } from './token.js';
import { enforceVerdict, type TimedVerdict, type Verdict } from './verdict.js';

const github = { algorithm: 'sha256', encoding: 'hex', prefix: 'sha256=' } as const;

describe('hmac', () => {
  // GitHub's documented example: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
  const secret = "It's a Secret to Everybody";
  const expected = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

  it("signs GitHub's documented vector", () => {
    expect(signHmac(secret, Buffer.from('Hello, World!'), github)).toBe(expected);
  });

  it('accepts the right signature and refuses a wrong, missing or tampered one', () => {
    const body = Buffer.from('Hello, World!');
    expect(verifyHmac(expected, body, [secret], github)).toBe('ok');
    expect(verifyHmac(undefined, body, [secret], github)).toBe('missing');
    expect(verifyHmac('', body, [secret], github)).toBe('missing');
    expect(verifyHmac(expected, body, ['wrong secret'], github)).toBe('mismatch');
    expect(verifyHmac(expected, Buffer.from('Hello, World?'), [secret], github)).toBe('mismatch');
    expect(verifyHmac(expected.slice(0, -1), body, [secret], github)).toBe('mismatch');
    expect(verifyHmac(expected.toUpperCase(), body, [secret], github)).toBe('mismatch');
    expect(verifyHmac(expected.replace('sha256=', ''), body, [secret], github)).toBe('mismatch');
  });

  it('accepts any secret of a rotation list, and none after it is rotated out', () => {
    const body = Buffer.from('{"a":1}');
    const sig = signHmac('old', body, sha256Hex);
    expect(verifyHmac(sig, body, ['new', 'old'], sha256Hex)).toBe('ok');
    expect(verifyHmac(sig, body, ['new'], sha256Hex)).toBe('mismatch');
  });

  it('verifies unicode escapes and emoji only over the exact bytes (a re-serializing verifier fails)', () => {
    const raw = Buffer.from('{"name":"Ren\\u00e9e","emoji":"\\ud83d\\ude00","text":"caf\u00e9 😀"}');
    const sig = signHmac('s3cret', raw, sha256Hex);
    expect(verifyHmac(sig, raw, ['s3cret'], sha256Hex)).toBe('ok');
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(raw.toString())));
    expect(reserialized.equals(raw)).toBe(false);
    expect(verifyHmac(sig, reserialized, ['s3cret'], sha256Hex)).toBe('mismatch');
  });

  it('signs a base string given in parts exactly as the joined string', () => {
    const parts = ['v0:', '1531420618', ':', Buffer.from('body')];
    expect(signHmac('k', parts, sha256Hex)).toBe(signHmac('k', 'v0:1531420618:body', sha256Hex));
  });

  it('writes base64 digests', () => {
    const scheme = { algorithm: 'sha256', encoding: 'base64', prefix: '' } as const;
    const sig = signHmac('k', 'x', scheme);
    expect(sig).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(verifyHmac(sig, 'x', ['k'], scheme)).toBe('ok');
  });
});

describe('timestamp window', () => {
  const now = 1_700_000_000_000;
  it('accepts within the tolerance either way and reports the skew outside it', () => {
    expect(checkTimestamp('1700000000', now, 300)).toEqual({ ok: true });
    expect(checkTimestamp('1699999700', now, 300)).toEqual({ ok: true });
    expect(checkTimestamp('1700000300', now, 300)).toEqual({ ok: true });
    expect(checkTimestamp('1699999699', now, 300)).toEqual({ ok: false, reason: 'stale', skewSec: 301 });
    expect(checkTimestamp('1700000420', now, 300)).toEqual({ ok: false, reason: 'stale', skewSec: -420 });
  });
  it('refuses what is not a timestamp', () => {
    for (const v of [undefined, '', 'abc', '1e9', '-5', '17000000000000000']) {
      expect(checkTimestamp(v, now, 300)).toMatchObject({ ok: false, reason: 'invalid' });
    }
  });
});

describe('token', () => {
  it('compares in constant time against every listed token', () => {
    expect(verifyToken('a-token', ['other', 'a-token'])).toBe('ok');
    expect(verifyToken('a-token', ['other'])).toBe('mismatch');
    expect(verifyToken('a-toke', ['a-token'])).toBe('mismatch');
    expect(verifyToken(undefined, ['a-token'])).toBe('missing');
    expect(verifyToken('', ['a-token'])).toBe('missing');
  });
  it('reads bearer tokens', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('standard webhooks', () => {
  // The library's own test vector (standard-webhooks/libraries, javascript/src/index.test.ts).
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const ts = 1614265330;
  const body = Buffer.from('{"test": 2432232314}');
  const expected = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
  const at = ts * 1000;

  it('signs the documented vector', () => {
    expect(signStandardWebhook(secret, id, ts, body)).toBe(expected);
  });

  it('verifies with an injected clock, among several signatures and secrets', () => {
    const headers = { id, timestamp: String(ts), signature: `v1,bogus v2,x ${expected}` };
    expect(verifyStandardWebhook(headers, body, [secret], at)).toEqual({ ok: true });
    expect(verifyStandardWebhook(headers, body, ['whsec_aGVsbG8gd29ybGQ=', secret], at)).toEqual({
      ok: true,
    });
  });

  it('refuses a missing header, a wrong secret, a tampered body or id, and a stale timestamp', () => {
    const good = { id, timestamp: String(ts), signature: expected };
    expect(verifyStandardWebhook({ ...good, signature: undefined }, body, [secret], at)).toMatchObject({
      reason: 'missing',
    });
    expect(verifyStandardWebhook({ ...good, id: undefined }, body, [secret], at)).toMatchObject({
      reason: 'missing',
    });
    expect(verifyStandardWebhook(good, body, ['whsec_aGVsbG8gd29ybGQ='], at)).toMatchObject({
      reason: 'mismatch',
    });
    expect(verifyStandardWebhook(good, Buffer.from('{"test": 2432232315}'), [secret], at)).toMatchObject({
      reason: 'mismatch',
    });
    expect(verifyStandardWebhook({ ...good, id: 'msg_other' }, body, [secret], at)).toMatchObject({
      reason: 'mismatch',
    });
    expect(verifyStandardWebhook(good, body, [secret], at + 301_000)).toMatchObject({
      reason: 'stale',
      skewSec: 301,
    });
  });

  it('does not choke on a body that is not JSON', () => {
    const text = Buffer.from('not json at all \u00ff');
    const sig = signStandardWebhook(secret, id, ts, text);
    expect(verifyStandardWebhook({ id, timestamp: String(ts), signature: sig }, text, [secret], at)).toEqual({
      ok: true,
    });
  });
});

describe('enforceVerdict', () => {
  const refusal = (verdict: Verdict | TimedVerdict, detail?: Record<string, string>) => {
    try {
      enforceVerdict(verdict, detail);
      return undefined;
    } catch (err) {
      if (!(err instanceof RejectedError)) throw err;
      return { reason: err.reason, status: err.status, detail: err.detail };
    }
  };

  it('passes ok, and turns each failure into its rejection with the detail', () => {
    expect(refusal('ok')).toBeUndefined();
    expect(refusal({ ok: true })).toBeUndefined();
    expect(refusal('missing')).toMatchObject({ reason: 'missing_signature', status: 401 });
    expect(refusal('mismatch', { url: 'https://x/y' })).toEqual({
      reason: 'bad_signature',
      status: 401,
      detail: { url: 'https://x/y' },
    });
    expect(refusal({ ok: false, reason: 'missing' })).toMatchObject({ reason: 'missing_signature' });
    expect(refusal({ ok: false, reason: 'stale', skewSec: -420 })).toMatchObject({
      reason: 'stale_timestamp',
      detail: { skewSec: -420 },
    });
  });
});

describe('keySetAt', () => {
  it('builds one key set per maker and URL, and shares it', () => {
    let built = 0;
    const make = (url: string) => ({ url, n: ++built });
    const other = (url: string) => ({ url, n: -1 });
    const a = keySetAt(make, 'https://keys.example/a');
    expect(keySetAt(make, 'https://keys.example/a')).toBe(a);
    expect(keySetAt(make, 'https://keys.example/b')).not.toBe(a);
    expect(keySetAt(other, 'https://keys.example/a').n).toBe(-1);
    expect(built).toBe(2);
  });
});
