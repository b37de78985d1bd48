import { describe, expect, it } from 'vitest';
import { readyWarnings, startTestRelay, type TestRelay, uniquePrefix } from '../../test/support/relay.js';
import { until } from '../../test/support/until.js';
import {
  notificationUrl,
  rawAccount,
  startRelay,
  storedState,
  subscriptionsTestBed,
} from './fixtures/subscriptions.js';
import { maxLifetimeMs } from './lifetime.js';

const bed = subscriptionsTestBed();
async function relay(options: Parameters<typeof startRelay>[1] = {}): Promise<TestRelay> {
  const t = await startRelay(bed.fake, options);
  bed.relays.push(t);
  return t;
}

const minute = 60_000;

describe('subscription lifetimes (Graph "Subscription lifetime" table)', () => {
  it('asks for the resource maximum less a clock margin, and one hour for resources not in the table', () => {
    expect(maxLifetimeMs('/chats/getAllMessages')).toBe(4315 * minute);
    expect(maxLifetimeMs('teams/abc/channels/def/messages')).toBe(4315 * minute);
    expect(maxLifetimeMs('/communications/callRecords')).toBe(4225 * minute);
    expect(maxLifetimeMs('/communications/presences/abc')).toBe(55 * minute);
    expect(maxLifetimeMs('/teams/abc/schedule/shifts')).toBe(355 * minute);
    expect(maxLifetimeMs('communications/onlineMeetings/getAllTranscripts')).toBe(4315 * minute);
    expect(maxLifetimeMs('/sites/abc/lists/def')).toBe(55 * minute);
  });
});

describe('teams Graph subscriptions in a running relay', () => {
  it('creates each subscription with the notification and lifecycle URL, clientState and the maximum expiration', async () => {
    const t = await relay({
      overrides: {
        subscriptions: [
          { resource: '/chats/getAllMessages', changeType: 'created' },
          { resource: '/communications/presences/abc', changeType: 'updated' },
        ],
      },
    });
    const posts = await bed.fake.waitFor('POST', '/subscriptions', 2);
    const byResource = new Map(posts.map((p) => [p.body.resource, p]));
    for (const [resource, lifetime] of [
      ['/chats/getAllMessages', 4315 * minute],
      ['/communications/presences/abc', 55 * minute],
    ] as const) {
      const post = byResource.get(resource);
      expect(post?.body).toMatchObject({
        notificationUrl,
        lifecycleNotificationUrl: notificationUrl,
        clientState: 'client-state-new',
      });
      const asked = Date.parse(String(post?.body.expirationDateTime)) - (post?.at ?? 0);
      expect(Math.abs(asked - lifetime)).toBeLessThan(5000);
    }
    // The client credentials grant, against the configured token endpoint.
    expect(bed.fake.callsOf('POST', '/token')[0]?.body).toMatchObject({
      grant_type: 'client_credentials',
      client_id: 'fake-client-id',
      scope: 'https://graph.microsoft.com/.default',
    });
    const state = await until(async () => {
      const s = await storedState(t.prefix);
      return s.size === 2 ? s : undefined;
    });
    expect(new Set([...state.values()].map((e) => e.id))).toEqual(new Set(bed.fake.subscriptions.keys()));
    expect(await readyWarnings(t)).toBe('');
    expect(t.logs.join('\n')).not.toContain('fake-client-secret');
    expect(t.logs.join('\n')).not.toContain('fake-graph-token-');
  });

  it('renews before expiry and keeps the expiration Graph answers, not the one it asked for', async () => {
    bed.fake.maxLifetimeMs = 1500; // Graph grants less than asked
    const t = await relay({ loop: { lifetimeMs: 4000 } });
    const [created] = await bed.fake.waitFor('POST', '/subscriptions');
    const firstExpiry = Date.parse(String(bed.fake.subscriptions.values().next().value?.expirationDateTime));
    const [patch] = await bed.fake.waitFor('PATCH', '/subscriptions/');
    expect(patch?.at).toBeLessThan(firstExpiry);
    expect(patch?.at).toBeGreaterThan((created?.at ?? 0) + 800); // three quarters into the granted 1.5 s
    const asked = Date.parse(String(patch?.body.expirationDateTime));
    const granted = bed.fake.subscriptions.values().next().value?.expirationDateTime;
    expect(asked - (patch?.at ?? 0)).toBeGreaterThan(3000);
    const state = await until(async () => {
      const entry = [...(await storedState(t.prefix)).values()][0];
      return entry && Date.parse(entry.expiresAt) > firstExpiry ? entry : undefined;
    });
    expect(Date.parse(state.expiresAt)).toBeLessThanOrEqual(Date.parse(granted ?? ''));
    // It keeps renewing: the subscription never lapses.
    await bed.fake.waitFor('PATCH', '/subscriptions/', 3);
    expect(bed.fake.callsOf('POST', '/subscriptions')).toHaveLength(1);
  });

  it('a restart reuses the stored subscription (GET, no second POST)', async () => {
    const prefix = uniquePrefix('teams-sub');
    const first = await relay({ prefix });
    await bed.fake.waitFor('POST', '/subscriptions');
    const [id] = await until(async () => [...(await storedState(prefix)).values()].map((e) => e.id));
    await first.relay.close(); // the relay stops; its Redis keys stay (TestRelay.close would wipe the prefix)
    const second = await relay({ prefix });
    await bed.fake.waitFor('GET', `/subscriptions/${id}`);
    await until(() => second.relay.loops.statuses[0]?.lastSuccess); // reconciled
    expect(bed.fake.callsOf('POST', '/subscriptions')).toHaveLength(1);
    expect(bed.fake.callsOf('DELETE', '/subscriptions/')).toHaveLength(0);
    expect([...bed.fake.subscriptions.keys()]).toEqual([id]);
  });

  it('a stored subscription that vanished (404) is created again', async () => {
    const prefix = uniquePrefix('teams-sub');
    const first = await relay({ prefix });
    await bed.fake.waitFor('POST', '/subscriptions');
    const [oldId] = await until(async () => [...(await storedState(prefix)).values()].map((e) => e.id));
    await first.relay.close(); // the relay stops; its Redis keys stay (TestRelay.close would wipe the prefix)
    bed.fake.subscriptions.clear();
    await relay({ prefix });
    await bed.fake.waitFor('POST', '/subscriptions', 2);
    const [newId] = await until(async () => {
      const ids = [...(await storedState(prefix)).values()].map((e) => e.id);
      return ids[0] !== oldId ? ids : undefined;
    });
    expect(newId).toBe([...bed.fake.subscriptions.keys()][0]);
  });

  it('without stored ids, adopts a subscription Graph already has for this URL and deletes duplicates and strays', async () => {
    const existing = (id: string, resource: string) => ({
      id,
      resource,
      changeType: 'created',
      notificationUrl,
      lifecycleNotificationUrl: notificationUrl,
      clientState: undefined,
      expirationDateTime: new Date(Date.now() + 3_600_000).toISOString(),
    });
    bed.fake.subscriptions.set('a', existing('a', 'chats/getAllMessages'));
    bed.fake.subscriptions.set('b', existing('b', '/chats/getAllMessages'));
    bed.fake.subscriptions.set('c', existing('c', '/teams/getAllMessages'));
    const t = await relay();
    await bed.fake.waitFor('DELETE', '/subscriptions/', 2);
    expect(bed.fake.callsOf('POST', '/subscriptions')).toHaveLength(0);
    expect([...bed.fake.subscriptions.keys()]).toEqual(['a']);
    const state = await until(async () => {
      const s = await storedState(t.prefix);
      return s.size > 0 ? s : undefined;
    });
    expect([...state.values()].map((e) => e.id)).toEqual(['a']);
  });

  it('honours Retry-After on 429', async () => {
    bed.fake.throttleNext('POST', '/subscriptions', 2);
    await relay();
    const [first, second] = await bed.fake.waitFor('POST', '/subscriptions', 2, 15_000);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1900);
    expect(bed.fake.subscriptions.size).toBe(1);
  });

  it('reports a missing publicUrl in /readyz and calls nothing', async () => {
    const t = await relay({ publicUrl: null });
    await until(async () => (await readyWarnings(t)).includes('publicUrl is needed'));
    expect(await readyWarnings(t)).toMatch(/set publicUrl in relay\.yaml/);
    expect((await fetch(`${t.opsUrl}/readyz`)).status).toBe(200);
    expect(bed.fake.calls).toHaveLength(0);
  });

  it('a refused client secret is reported as re-consent needed, without the secret', async () => {
    const t = await relay({
      overrides: {
        credentials: {
          tenantId: 'fake-tenant',
          clientId: 'fake-client-id',
          clientSecret: 'wrong-secret',
          tokenUrl: bed.fake.tokenUrl,
        },
      },
    });
    const warnings = await until(async () => {
      const w = await readyWarnings(t);
      return w.includes('re-consent needed') ? w : undefined;
    });
    expect(warnings).toMatch(/invalid_client: AADSTS7000215/);
    expect(warnings).not.toContain('wrong-secret');
    expect(bed.fake.calls.filter((c) => c.path !== '/token')).toHaveLength(0);
  });

  it('uses a static accessToken without the token endpoint', async () => {
    bed.fake.allowToken('static-token');
    await relay({ overrides: { credentials: { accessToken: 'static-token' } } });
    await bed.fake.waitFor('POST', '/subscriptions');
    expect(bed.fake.callsOf('POST', '/token')).toHaveLength(0);
  });

  it('an account without subscriptions runs no loop', async () => {
    const t = await startTestRelay({
      publicUrl: 'https://x.example',
      channels: { teams: [rawAccount(bed.fake, { subscriptions: [] })] },
    });
    bed.relays.push(t);
    expect(t.relay.loops.statuses).toHaveLength(0);
  });
});
