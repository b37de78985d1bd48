import { describe, expect, it } from 'vitest';
import { oversizedBodies, reEncodedBodies } from '../src/doctor/bodies.js';
import { exitCodeOf, type Finding, formatFinding } from '../src/doctor/finding.js';
import {
  clockSkew,
  diagnoseRejections,
  type PatternContext,
  secretMismatch,
  signedUrlMismatch,
  strippedHeaders,
  unknownAccounts,
} from '../src/doctor/patterns.js';
import { type RedisFacts, redisFindings } from '../src/doctor/redis.js';
import type { Rejection } from '../src/rejections.js';

/** Constructed rejection records, as RejectionLog.list returns them (newest first). */
let n = 0;
function rej(over: Partial<Rejection> = {}): Rejection {
  n++;
  return {
    at: `2026-11-21T10:${String(n % 60).padStart(2, '0')}:00.000Z`,
    reason: 'bad_signature',
    channel: 'whatsapp',
    account: 'main',
    method: 'POST',
    path: '/whatsapp/main',
    headers: ['host', 'content-type', 'content-length', 'user-agent'],
    size: 812,
    sha256: 'ab'.repeat(32),
    ip: '203.0.113.9',
    ...over,
  };
}
const times = (count: number, over: Partial<Rejection>) => Array.from({ length: count }, () => rej(over));

const ctx = (over: Partial<PatternContext> = {}): PatternContext => ({
  accounts: new Map([
    ['whatsapp', ['main']],
    ['slack', ['acme']],
  ]),
  auth: (channel) =>
    channel === 'whatsapp'
      ? { headers: ['X-Hub-Signature-256'], secretField: 'appSecret' }
      : channel === 'slack'
        ? { headers: ['X-Slack-Signature', 'X-Slack-Request-Timestamp'], secretField: 'signingSecret' }
        : undefined,
  lastAccepted: new Map(),
  ...over,
});

const verdicts = (fs: Finding[]) => fs.map((f) => f.verdict);

describe('a signature header never present', () => {
  it('blames a proxy that strips it', () => {
    const fs = strippedHeaders(times(4, { reason: 'missing_signature' }), ctx());
    expect(verdicts(fs)).toEqual(['problem']);
    expect(fs[0]?.message).toContain('your proxy or load balancer strips X-Hub-Signature-256');
    expect(fs[0]?.check).toBe('rejections whatsapp/main');
  });

  it('names only the headers that never came (Slack: signature gone, timestamp there)', () => {
    const records = times(3, {
      reason: 'missing_signature',
      channel: 'slack',
      account: 'acme',
      headers: ['host', 'x-slack-request-timestamp'],
    });
    const fs = strippedHeaders(records, ctx());
    expect(fs[0]?.message).toContain('strips X-Slack-Signature;');
    expect(fs[0]?.message).not.toContain('X-Slack-Request-Timestamp');
  });

  it('stays quiet below the repeat threshold, or when the header sometimes arrives', () => {
    expect(strippedHeaders(times(2, { reason: 'missing_signature' }), ctx())).toEqual([]);
  });

  it('is only a warning when later requests passed (a scanner, not a proxy)', () => {
    const fs = strippedHeaders(
      times(3, { reason: 'missing_signature' }),
      ctx({ lastAccepted: new Map([['whatsapp/main', '2026-11-22T00:00:00.000Z']]) }),
    );
    expect(verdicts(fs)).toEqual(['warning']);
  });
});

describe('timestamps skewed by a constant', () => {
  it('says the clock is off by the constant and points to NTP', () => {
    const records = [418, 421, 425, 419].map((skewSec) =>
      rej({ reason: 'stale_timestamp', channel: 'slack', account: 'acme', detail: { skewSec } }),
    );
    const fs = clockSkew(records);
    expect(verdicts(fs)).toEqual(['problem']);
    expect(fs[0]?.message).toContain('clock off by 7 min: check NTP');
    expect(fs[0]?.message).toContain('behind');
  });

  it('tells a sender ahead of the relay apart', () => {
    const records = [-600, -610, -605].map((skewSec) =>
      rej({ reason: 'stale_timestamp', detail: { skewSec } }),
    );
    expect(clockSkew(records)[0]?.message).toContain('10 min ahead of');
  });

  it('calls widely varying skews delays, not a clock', () => {
    const records = [320, 900, 4000].map((skewSec) =>
      rej({ reason: 'stale_timestamp', detail: { skewSec } }),
    );
    const fs = clockSkew(records);
    expect(verdicts(fs)).toEqual(['warning']);
    expect(fs[0]?.message).toContain('delayed or replayed');
  });
});

describe('all signatures failing after a date', () => {
  const bad = times(5, { reason: 'bad_signature' });

  it('says the secret was rotated at the provider when earlier requests passed', () => {
    const fs = secretMismatch(
      bad,
      ctx({ lastAccepted: new Map([['whatsapp/main', '2026-11-20T23:00:00.000Z']]) }),
    );
    expect(verdicts(fs)).toEqual(['problem']);
    expect(fs[0]?.message).toContain('secret was rotated at the provider but not here');
    expect(fs[0]?.message).toContain('appSecret');
    expect(fs[0]?.message).toContain('2026-11-20T23:00:00.000Z');
  });

  it('says the secret never matched when nothing ever passed', () => {
    const fs = secretMismatch(bad, ctx());
    expect(fs[0]?.message).toContain('appSecret does not match');
  });

  it('is a warning when requests still pass in between', () => {
    const fs = secretMismatch(
      bad,
      ctx({ lastAccepted: new Map([['whatsapp/main', '2026-11-23T00:00:00.000Z']]) }),
    );
    expect(verdicts(fs)).toEqual(['warning']);
  });
});

describe('URL-signed senders failing', () => {
  it('names the URL the relay checked and points at publicUrl and X-Forwarded-*', () => {
    const url = 'http://10.0.0.5:8080/webhook/pay/square';
    const fs = signedUrlMismatch(times(3, { channel: 'webhook', account: 'pay/square', detail: { url } }));
    expect(verdicts(fs)).toEqual(['problem']);
    expect(fs[0]?.message).toContain(url);
    expect(fs[0]?.message).toContain('publicUrl');
    expect(fs[0]?.message).toContain('X-Forwarded-Proto');
  });

  it('says nothing for signatures that do not cover the URL', () => {
    expect(signedUrlMismatch(times(3, { channel: 'webhook', account: 'gh/repo' }))).toEqual([]);
  });
});

describe('bodies that look re-encoded', () => {
  it('spots a charset conversion, a rewritten length, and compression', () => {
    const fs = reEncodedBodies([
      rej({ reason: 'bad_body', detail: { why: 'body is not valid UTF-8' } }),
      rej({ reason: 'bad_body', detail: { why: 'request.size.invalid' } }),
      rej({ reason: 'unsupported_media', detail: { encoding: 'gzip' } }),
    ]);
    expect(fs.map((f) => f.message).join('\n')).toMatch(
      /converts the charset[\s\S]*Content-Length[\s\S]*gzip/,
    );
    expect(verdicts(fs)).toEqual(['problem', 'problem', 'problem']);
  });

  it('flags failing signatures on bodies that were all re-streamed', () => {
    const chunked = times(3, { headers: ['host', 'content-type', 'transfer-encoding'] });
    expect(reEncodedBodies(chunked)[0]?.message).toContain('re-serializes JSON');
    // With Content-Length on the failing requests there is no sign of re-encoding.
    expect(reEncodedBodies(times(3, {}))).toEqual([]);
  });

  it('flags a content type the channel never takes, repeated', () => {
    const fs = reEncodedBodies(times(3, { reason: 'unsupported_media', detail: { type: 'text/plain' } }));
    expect(fs[0]?.message).toContain('Content-Type text/plain');
  });
});

describe('unknown accounts hit repeatedly', () => {
  it('suggests the configured account a typo is close to', () => {
    const fs = unknownAccounts(
      times(3, { reason: 'unknown_account', account: 'mian', path: '/whatsapp/mian' }),
      ctx(),
    );
    expect(verdicts(fs)).toEqual(['problem']);
    expect(fs[0]?.message).toContain('typo in the URL');
    expect(fs[0]?.message).toContain('whatsapp/main');
  });

  it('warns, listing what is configured, when nothing is close', () => {
    const fs = unknownAccounts(
      times(4, { reason: 'unknown_account', account: 'wp-admin-login', path: '/whatsapp/wp-admin-login' }),
      ctx(),
    );
    expect(verdicts(fs)).toEqual(['warning']);
    expect(fs[0]?.message).toContain('configured: main');
  });
});

describe('the whole diagnosis', () => {
  it('is one ok line for a quiet log, and exit 0', () => {
    const fs = diagnoseRejections([rej()], ctx());
    expect(fs).toHaveLength(1);
    expect(formatFinding(fs[0] as Finding)).toMatch(/^ok +rejections: 1 rejected request in the last 24 h/);
    expect(exitCodeOf(fs)).toBe(0);
  });

  it('exits 1 once any diagnosis is a problem', () => {
    const fs = diagnoseRejections(times(3, { reason: 'missing_signature' }), ctx());
    expect(exitCodeOf(fs)).toBe(1);
    expect(
      oversizedBodies([rej({ reason: 'body_too_large', detail: { limit: 1024 } })])[0]?.message,
    ).toContain('server.bodyLimit (1024 bytes)');
  });
});

describe('redis settings', () => {
  const facts = (over: Partial<RedisFacts>): RedisFacts => ({
    server: 'Redis',
    version: '7.2.4',
    maxmemoryPolicy: 'noeviction',
    aof: true,
    configRefused: undefined,
    ...over,
  });

  it('is ok with noeviction and AOF on', () => {
    expect(verdicts(redisFindings(facts({})))).toEqual(['ok', 'ok', 'ok']);
  });

  it('is a problem with an evicting policy or an old Redis', () => {
    const fs = redisFindings(facts({ version: '4.0.14', maxmemoryPolicy: 'allkeys-lru' }));
    expect(verdicts(fs)).toEqual(['problem', 'problem', 'ok']);
    expect(fs[1]?.message).toContain('set maxmemory-policy noeviction');
  });

  it('says it could not check when CONFIG is refused and INFO is silent', () => {
    const fs = redisFindings(
      facts({ maxmemoryPolicy: undefined, aof: undefined, configRefused: 'ERR unknown command' }),
    );
    expect(verdicts(fs)).toEqual(['ok', 'skipped', 'skipped']);
    expect(fs[1]?.message).toContain('could not check (CONFIG GET refused: ERR unknown command)');
  });
});
