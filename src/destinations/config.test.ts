import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { collectSecrets } from '../config/secret.js';
import { ConfigError } from '../errors.js';
import { retryAfterMs } from '../provider/retry-after.js';
import { queuesFor } from '../queue/routing.js';
import { limiterFor, routingRules } from './config.js';
import { DeliveryError } from './deliver.js';
import { deliveryBackoff } from './workers.js';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const other = 'whsec_dGhpcyBpcyBhbm90aGVyIGtleSBmb3IgdGVzdHM=';

function problems(raw: object): string[] {
  try {
    parseConfig(raw, {});
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

const dest = (extra: object = {}) => ({ name: 'agents', url: 'http://backend:8100/hooks', secret, ...extra });

describe('destinations: config', () => {
  it('fills the defaults and takes a list of secrets for a rotation', () => {
    const c = parseConfig({ destinations: [dest({ secret: [secret, other] })] }, {});
    expect(c.destinations[0]).toMatchObject({
      name: 'agents',
      timeoutMs: 10_000,
      concurrency: 4,
      match: [{}],
    });
    expect(c.destinations[0]?.secret).toEqual([secret, other]);
    expect(collectSecrets(c)).toEqual(new Set([secret, other]));
  });

  it('reads secretFile, one secret a line', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'relay-dest-')), 'secret');
    writeFileSync(path, `${secret}\n${other}\n`);
    const c = parseConfig(
      { destinations: [{ name: 'a', url: 'https://x.example/h', secretFile: path }] },
      {},
    );
    expect(c.destinations[0]?.secret).toEqual([secret, other]);
  });

  it('refuses every bad field at once, at its path, without echoing a secret', () => {
    const found = problems({
      routes: [{ match: { channel: 'slack' }, queues: ['audit'] }],
      destinations: [
        dest({ url: 'ftp://backend/hooks' }),
        dest({ name: 'has space' }),
        dest({ name: 'relay-events' }),
        dest({ name: 'audit' }),
        dest({ name: 'x'.repeat(65) }),
        { name: 'nosecret', url: 'http://a/h' },
        dest({ name: 'badsecret', secret: 'not-a-whsec-key' }),
        dest({ name: 'slow', rate: 'fast' }),
        dest({ name: 'extra', retries: 3 }),
      ],
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'destinations.0.url: must be an http(s) URL',
        'destinations.1.name: must be 1-64 of A-Z a-z 0-9 _ -',
        'destinations.4.name: must be 1-64 of A-Z a-z 0-9 _ -',
        'destinations.5.secret: required (or secretFile)',
        'destinations.6.secret: must be a whsec_<base64> key',
        'destinations.7.rate: must be a rate such as 50/s, 300/m or 10',
        expect.stringMatching(/^destinations\.8: Unrecognized key: "retries"/),
      ]),
    );
    expect(found.join('\n')).not.toContain('not-a-whsec-key');
  });

  it('refuses a name given twice or already used as a queue (queue.name, routes, an account queue)', () => {
    expect(
      problems({
        channels: { webhook: [{ group: 'g', trigger: 't', auth: { scheme: 'none' }, queue: 'mine' }] },
        routes: [{ match: { channel: 'slack' }, queues: ['audit'] }],
        destinations: [
          dest(),
          dest(),
          dest({ name: 'relay-events' }),
          dest({ name: 'audit' }),
          dest({ name: 'mine' }),
        ],
      }),
    ).toEqual([
      'destinations.1.name: "agents" is configured twice',
      'destinations.2.name: "relay-events" is already a queue (queue.name); a destination needs a queue of its own, pick another name',
      'destinations.3.name: "audit" is already a queue (routes.0.queues); a destination needs a queue of its own, pick another name',
      `destinations.4.name: "mine" is already a queue (an account's queue); a destination needs a queue of its own, pick another name`,
    ]);
  });

  it('routes a copy of each matching event to the destination queue, with routes: own matching', () => {
    const c = parseConfig(
      {
        destinations: [dest({ match: { channel: 'slack', type: 'slack.*' } }), dest({ name: 'all' })],
      },
      {},
    );
    const event = { channel: 'slack', account: 'acme', type: 'slack.event' } as never;
    const rules = routingRules(c);
    expect(queuesFor(event, 'relay-events', rules)).toEqual(['relay-events', 'agents', 'all']);
    expect(queuesFor({ ...(event as object), channel: 'webhook' } as never, 'relay-events', rules)).toEqual([
      'relay-events',
      'all',
    ]);
  });

  it('takes a list wherever routes: match takes one value (any of them), as in the contract', () => {
    const c = parseConfig(
      { destinations: [dest({ match: { channel: ['whatsapp', 'slack'], type: ['a.*', 'b'] } })] },
      {},
    );
    const rules = routingRules(c);
    expect(rules.map((r) => r.match)).toEqual([
      { channel: 'whatsapp', type: 'a.*' },
      { channel: 'whatsapp', type: 'b' },
      { channel: 'slack', type: 'a.*' },
      { channel: 'slack', type: 'b' },
    ]);
    const event = (channel: string, type: string) => ({ channel, account: 'x', type }) as never;
    expect(queuesFor(event('slack', 'a.1'), 'relay-events', rules)).toEqual(['relay-events', 'agents']);
    expect(queuesFor(event('whatsapp', 'b'), 'relay-events', rules)).toEqual(['relay-events', 'agents']);
    expect(queuesFor(event('telegram', 'b'), 'relay-events', rules)).toEqual(['relay-events']);
    expect(problems({ destinations: [dest({ match: { channel: [] } })] })).toEqual([
      'destinations.0.match.channel: must list at least one value',
    ]);
    expect(problems({ destinations: [dest({ match: { chanel: 'slack' } })] })).toEqual([
      expect.stringMatching(/^destinations\.0\.match: Unrecognized key: "chanel"/),
    ]);
  });

  it('turns a rate into a BullMQ limiter', () => {
    const c = parseConfig({ destinations: [dest({ rate: '50/s' }), dest({ name: 'b', rate: '30/m' })] }, {});
    expect(limiterFor(c.destinations[0]?.rate)).toEqual({ max: 50, duration: 1000 });
    expect(limiterFor(c.destinations[1]?.rate)).toEqual({ max: 1, duration: 2000 });
    expect(limiterFor(undefined)).toBeUndefined();
  });
});

describe('Retry-After and the delivery backoff', () => {
  const now = Date.parse('2026-12-03T10:00:00Z');
  it('reads seconds and HTTP dates, clamped to at least 1 s and at most 1 h', () => {
    expect(retryAfterMs({ 'retry-after': '3' }, now)).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': '0' }), now)).toBe(1000);
    expect(retryAfterMs({ 'retry-after': 'Thu, 03 Dec 2026 10:00:05 GMT' }, now)).toBe(5000);
    expect(retryAfterMs({ 'retry-after': 'Wed, 02 Dec 2026 10:00:00 GMT' }, now)).toBe(1000);
    expect(retryAfterMs({ 'retry-after': '999999' }, now)).toBe(3_600_000);
    expect(retryAfterMs({ 'retry-after': '-5' }, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(retryAfterMs({}, now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });

  it('backs off exponentially, never sooner than a Retry-After', () => {
    const job = { opts: { backoff: { type: 'relay-delivery', delay: 100 } } } as never;
    expect([1, 2, 3].map((n) => deliveryBackoff(n, undefined, new Error('x'), job))).toEqual([100, 200, 400]);
    const asked = new DeliveryError('HTTP 429', 429, 2000);
    expect(deliveryBackoff(1, undefined, asked, job)).toBe(2000);
    expect(deliveryBackoff(6, undefined, asked, job)).toBe(3200);
  });
});
