import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channels } from '../channels/index.js';
import { type AnyChannel, configKeyOf, urlNameOf } from '../src/channel.js';
import { eventId } from '../src/queue/envelope.js';
import { presets } from '../src/verify/presets/index.js';
import { startTestRelay, type TestRelay } from './support/relay.js';

/**
 * Properties every channel in the registry must have, checked over the registry itself so a new
 * channel is covered the moment it is registered. Each channel's files are found by its name:
 * `channels/<name>/fixtures/config.ts` exports `exampleAccount`, and every `*.json` beside it is a
 * provider payload its `sign` can send.
 */
const fixturesOf = (channel: AnyChannel) => new URL(`../channels/${channel.name}/fixtures/`, import.meta.url);

/** Any provider URL in an example points at a closed loopback port: this suite must never reach a provider. */
function offline<T>(value: T): T {
  if (typeof value === 'string')
    return (
      /^https?:\/\//.test(value) ? value.replace(/^https?:\/\/[^/]+/, 'http://127.0.0.1:9') : value
    ) as T;
  if (Array.isArray(value)) return value.map(offline) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, offline(v)])) as T;
  return value;
}

const registry = Object.entries(channels) as Array<[string, AnyChannel]>;
const withRoutes = registry.filter(([, c]) => c.routes.length > 0);
/** Config key → the example account of each channel with inbound routes (loops would call providers). */
const examples: Record<string, unknown> = Object.fromEntries(
  await Promise.all(
    withRoutes.map(async ([key, channel]) => {
      const fixtures = (await import(new URL('config.js', fixturesOf(channel)).href)) as {
        exampleAccount: unknown;
      };
      return [key, fixtures.exampleAccount] as const;
    }),
  ),
);

/** One generic trigger per sender preset, so every preset is held to the same rules. */
const ed25519Hex = generateKeyPairSync('ed25519')
  .publicKey.export({ format: 'der', type: 'spki' })
  .subarray(-32)
  .toString('hex');
const p256Base64 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ format: 'der', type: 'spki' })
  .toString('base64');
/** A public key of the kind the preset takes (Ed25519 for Discord, P-256 for SendGrid). */
const keyFor = (p: typeof presets extends ReadonlyMap<string, infer P> ? P : never) =>
  [ed25519Hex, p256Base64].find((key) => {
    try {
      p.assertPublicKey?.(key);
      return true;
    } catch {
      return false;
    }
  });
const presetTriggers = [...presets.values()].map((p) => ({
  group: 'preset',
  trigger: p.name,
  auth: {
    scheme: p.name,
    ...(p.needs === 'secrets' ? { secrets: ['conformance-secret-0123456789'] } : { publicKey: keyFor(p) }),
  },
}));

let t: TestRelay;
let accounts: Map<string, unknown>;
let presetAccounts: unknown[];
beforeAll(async () => {
  const configured: Record<string, unknown[]> = Object.fromEntries(
    Object.entries(examples).map(([key, account]) => [key, [offline(account)]]),
  );
  configured.webhook = [...(configured.webhook ?? []), ...presetTriggers];
  // Every unsigned request fails authentication from one client on purpose: no rate limit here.
  t = await startTestRelay({ channels: configured, server: { rateLimit: { enabled: false } } });
  const { parseConfig } = await import('../src/config/load.js');
  const parsed = parseConfig({ channels: configured }, {}).channels as Record<string, unknown[]>;
  accounts = new Map(Object.entries(parsed).map(([key, list]) => [key, list[0]]));
  presetAccounts = (parsed.webhook ?? []).slice(1);
});
afterAll(() => t.close());

function pathFor(channel: AnyChannel, routePath: string, account: unknown): string {
  const id = channel.accountId(account);
  const [group, trigger] = id.split('/');
  return routePath
    .replace(':account', id)
    .replace(':group', group ?? '')
    .replace(':trigger', trigger ?? '');
}

describe('registry', () => {
  it.each(registry)(
    '%s: keyed by its config key, routes under its own URL name, every route verified',
    (key, channel) => {
      expect(configKeyOf(channel)).toBe(key);
      expect(channel.name).toMatch(/^[a-z]+$/);
      for (const route of channel.routes) {
        expect(route.path.startsWith(`/${urlNameOf(channel)}/`)).toBe(true);
        expect(typeof route.verify).toBe('function');
        expect(route.methods.length).toBeGreaterThan(0);
      }
    },
  );

  it('every channel with inbound routes has an example account', () => {
    for (const [key, channel] of withRoutes)
      expect(
        examples[key],
        `export exampleAccount from channels/${channel.name}/fixtures/config.ts`,
      ).toBeDefined();
  });

  it('event ids are valid BullMQ job ids whatever the provider key', () => {
    for (const key of ['123456', 'a:b:c', 'x'.repeat(5000), 'émoji 😀', '']) {
      const id = eventId('telegram', 'acct', key);
      expect(id).not.toContain(':');
      expect(id).not.toMatch(/^\d+$/);
      expect(id.length).toBeLessThan(100);
    }
  });
});

describe('every route refuses an unsigned request and queues nothing', () => {
  const cases = withRoutes.flatMap(([key, channel]) =>
    channel.routes.flatMap((route) => route.methods.map((method) => [key, method, route.path] as const)),
  );
  it.each(cases)('%s %s %s', async (key, method, routePath) => {
    const channel = channels[key as keyof typeof channels] as AnyChannel;
    const before = (await t.jobs()).length;
    const res = await fetch(t.url + pathFor(channel, routePath, accounts.get(key)), {
      method,
      ...(method === 'GET'
        ? {}
        : { body: '{"unsigned":true}', headers: { 'content-type': 'application/json' } }),
    });
    // 400 where the proof lives in the body (Graph clientState) and the body has none to check;
    // 405 where the route takes a method only for some accounts (webhook GET: Dropbox's challenge).
    expect([400, 401, 403, ...(method === 'GET' && key === 'webhook' ? [405] : [])]).toContain(res.status);
    expect((await t.jobs()).length).toBe(before);
  });
});

describe('signed fixtures: never a 5xx, and what is accepted is queued', () => {
  const cases = withRoutes
    .filter(([, c]) => typeof c.sign === 'function')
    .flatMap(([key, channel]) => {
      const dir = fixturesOf(channel);
      return readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => [key, f, readFileSync(new URL(f, dir))] as const);
    });
  it.each(cases)('%s %s', async (key, _file, body) => {
    const channel = channels[key as keyof typeof channels] as AnyChannel;
    const signed = channel.sign?.(accounts.get(key), body, Date.now());
    if (!signed) throw new Error('no signer');
    const res = await fetch(t.url + signed.path, {
      method: signed.method,
      body: new Uint8Array(signed.body ?? body),
      headers: signed.headers,
    });
    expect(res.status).toBeLessThan(500);
    if (res.status === 202 || res.status === 200) {
      const jobs = await t.jobs();
      for (const job of jobs) expect(job.id).not.toContain(':');
    }
  });
});

describe('every sender preset refuses an unsigned request, and accepts its own signature', () => {
  const names = [...presets.keys()];
  it.each(names)('%s', async (name) => {
    const preset = presets.get(name);
    const before = (await t.jobs()).length;
    const path = `/webhook/preset/${name}`;
    // Linear also signs a webhookTimestamp inside the body.
    const body = `{"id":"evt_1","type":"conformance.test","webhookTimestamp":${Date.now()}}`;
    const unsigned = await t.post(path, body, { 'content-type': 'application/json' });
    expect(unsigned.status).toBe(401);
    expect((await t.jobs()).length).toBe(before);
    if (!preset?.sign) return; // the sender holds the private key
    const account = presetAccounts[names.indexOf(name)];
    const signed = channels.webhook.sign(account as never, Buffer.from(body), Date.now(), t.url);
    const res = await fetch(t.url + signed.path, { method: 'POST', body, headers: signed.headers });
    expect(res.status).toBeLessThan(300);
  });
});
