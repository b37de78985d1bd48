import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channels } from '../../channels/index.js';
import {
  exampleAccount as telegram,
  fixtureBytes as telegramFixture,
} from '../../channels/telegram/fixtures/config.js';
import {
  exampleAccount as whatsapp,
  fixtureBytes as whatsappFixture,
} from '../../channels/whatsapp/fixtures/config.js';
import type { AnyChannel } from '../../src/channel.js';
import { parseConfig } from '../../src/config/load.js';
import { type FakeMicrosoftKeys, startFakeMicrosoftKeys } from '../fakes/bot-framework-keys.js';
import { type GoogleCertsServer, signGoogleJwt, startGoogleCerts, testKey } from '../fakes/google-certs.js';
import { startTestRelay, type TestRelay } from '../support/relay.js';
import {
  adapt,
  freePort,
  type HttpsOptions,
  https,
  type Nginx,
  selfSignedCert,
  startNginx,
} from './nginx-harness.js';

/**
 * The documented VM setup (docs/deploy/nginx-vm.conf), for real: nginx terminates TLS on loopback in
 * front of a relay, and every push channel's signed request goes through it and is queued.
 */
const host = 'relay.example.com';
const appId = 'c9e8c047-2a74-40a2-b28a-b162d5f5327c';
const projectNumber = '123456789012';
const adminToken = 'admin-token-for-the-nginx-proof-0123';
const fixture = (path: string) => readFileSync(new URL(`../../channels/${path}`, import.meta.url));

const rawChannels = {
  webhook: [
    { group: 'ci', trigger: 'deploys', auth: { scheme: 'token', token: 'ci-token-0123456789abcdef' } },
    {
      group: 'billing',
      trigger: 'invoices',
      auth: {
        scheme: 'hmac-sha256',
        secrets: ['billing-secret-0123456789'],
        header: 'X-Signature-256',
        prefix: 'sha256=',
      },
    },
    {
      group: 'std',
      trigger: 'events',
      auth: { scheme: 'standard-webhooks', secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] },
    },
  ],
  whatsapp: [whatsapp],
  slack: [{ account: 'acme', signingSecret: 'slack-signing-secret-0123456789' }],
  telegram: [telegram],
};

let keys: FakeMicrosoftKeys;
let certs: GoogleCertsServer;
const googleKey = testKey();
let t: TestRelay;
let nginx: Nginx;
let ports: { http: number; https: number };
let tls: { pem: string };
let accounts: Record<string, unknown[]>;

beforeAll(async () => {
  keys = await startFakeMicrosoftKeys();
  certs = await startGoogleCerts(googleKey);
  const configured = {
    ...rawChannels,
    teams: [
      {
        account: 'contoso',
        clientState: 'teams-client-state-0123',
        appId,
        openIdMetadataUrl: keys.openIdMetadataUrl(),
      },
    ],
    googleChat: [{ account: 'acme', audience: projectNumber, certsUrl: certs.x509Url }],
  };
  t = await startTestRelay({ channels: configured, admin: { token: adminToken } });
  accounts = parseConfig({ channels: configured }, {}).channels as Record<string, unknown[]>;

  const dir = mkdtempSync(join(tmpdir(), 'relay-tls-'));
  const cert = selfSignedCert(dir, host);
  tls = cert;
  ports = { http: await freePort(), https: await freePort() };
  const relayPort = new URL(t.url).port;
  const conf = adapt(readFileSync(new URL('../../docs/deploy/nginx-vm.conf', import.meta.url), 'utf8'), [
    [/^\s*listen \[::\].*$/gm, ''],
    ['listen 80;', `listen 127.0.0.1:${ports.http};`],
    ['listen 443 ssl;', `listen 127.0.0.1:${ports.https} ssl;`],
    ['server 127.0.0.1:8080;', `server 127.0.0.1:${relayPort};`],
    [`/etc/letsencrypt/live/${host}/fullchain.pem`, cert.cert],
    [`/etc/letsencrypt/live/${host}/privkey.pem`, cert.key],
    ['/var/www/letsencrypt', dir],
  ]);
  nginx = await startNginx(conf, ports.https);
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  await t?.close();
  await keys?.close();
  await certs?.close();
});

const viaNginx = (path: string, options: Omit<HttpsOptions, 'port' | 'ca' | 'servername'> = {}) =>
  https(path, { port: ports.https, ca: tls.pem, servername: host, ...options });

function signRequest(key: keyof typeof channels, account: unknown, body: Buffer) {
  const request = (channels[key] as AnyChannel).sign?.(account, body, Date.now());
  if (!request) throw new Error(`${key} has no signer`);
  return request;
}

function signed(key: keyof typeof channels, account: unknown, body: Buffer, chunked = false) {
  const request = signRequest(key, account, body);
  return viaNginx(request.path, {
    method: request.method,
    headers: request.headers,
    body: request.body ?? body,
    chunked,
  });
}

const jobsFrom = async (source: string) => (await t.jobs()).filter((e) => e.source === source);

describe('signed requests for every push channel verify through nginx and are queued', () => {
  it.each([0, 1, 2])('generic trigger %i (token, hmac-sha256, standard-webhooks)', async (i) => {
    const account = accounts.webhook?.[i] as { group: string; trigger: string };
    const body = Buffer.from(JSON.stringify({ n: i, note: 'spaces  and\r\nline ends stay', unicode: 'é😀' }));
    const res = await signed('webhook', account, body);
    expect(res.status).toBe(202);
    const [job] = await jobsFrom(`/webhook/${account.group}/${account.trigger}`);
    expect(job?.data.payload).toEqual(JSON.parse(body.toString()));
  });

  it.each(['text-message', 'text-message-unicode-escaped', 'batch'] as const)('whatsapp %s', async (name) => {
    const before = (await jobsFrom('/whatsapp/main')).length;
    const res = await signed('whatsapp', accounts.whatsapp?.[0], whatsappFixture(name));
    expect(res.status).toBe(200);
    expect((await jobsFrom('/whatsapp/main')).length).toBeGreaterThan(before);
  });

  it('slack Events API', async () => {
    const res = await signed('slack', accounts.slack?.[0], fixture('slack/fixtures/event-message.json'));
    expect(res.status).toBe(200);
    expect(await jobsFrom('/slack/acme')).toHaveLength(1);
  });

  it('telegram webhook', async () => {
    const res = await signed('telegram', accounts.telegram?.[0], telegramFixture('message'));
    expect(res.status).toBe(200);
    expect(await jobsFrom('/telegram/support')).toHaveLength(1);
  });

  it('teams Graph change notification (clientState)', async () => {
    const res = await signed('teams', accounts.teams?.[0], fixture('teams/fixtures/graph-notification.json'));
    expect(res.status).toBe(202);
    expect((await jobsFrom('/teams/contoso')).filter((e) => e.type === 'teams.notification')).toHaveLength(1);
  });

  it('teams Bot Framework activity (bearer JWT from the fake key server)', async () => {
    const activity = JSON.parse(fixture('teams/fixtures/bot-message.json').toString()) as {
      serviceUrl: string;
    };
    const token = await keys.signBot({
      iss: 'https://api.botframework.com',
      aud: appId,
      serviceurl: activity.serviceUrl,
    });
    const res = await viaNginx('/teams/contoso/messages', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(activity),
    });
    expect(res.status).toBe(200);
    expect((await jobsFrom('/teams/contoso')).filter((e) => e.type === 'teams.activity')).toHaveLength(1);
  });

  it('google chat (bearer JWT, project-number audience)', async () => {
    const token = await signGoogleJwt(
      googleKey,
      { iss: 'chat@system.gserviceaccount.com', aud: projectNumber },
      { nowMs: Date.now() },
    );
    const res = await viaNginx('/google-chat/acme', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: fixture('googlechat/fixtures/message.json'),
    });
    expect(res.status).toBe(200);
    expect(await jobsFrom('/google-chat/acme')).toHaveLength(1);
  });
});

describe('what the proxy adds and refuses', () => {
  it('the rejection log records the client address nginx forwarded, not nginx and not a spoofed header', async () => {
    const res = await viaNginx('/whatsapp/main', {
      localAddress: '127.0.0.2',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
        'x-forwarded-for': '203.0.113.9',
      },
      body: '{"object":"whatsapp_business_account","entry":[]}',
    });
    expect(res.status).toBe(401);
    type Listed = { rejections: Array<{ ip: string; reason: string; path: string }> };
    let found: Listed['rejections'][number] | undefined;
    // The rejection log is written fire-and-forget: wait for the entry, bounded.
    for (let i = 0; i < 100 && !found; i += 1) {
      const list = (await (
        await fetch(`${t.opsUrl}/admin/rejections?channel=whatsapp`, {
          headers: { authorization: `Bearer ${adminToken}` },
        })
      ).json()) as Listed;
      found = list.rejections.find((r) => r.reason === 'bad_signature');
      if (!found) await new Promise((r) => setTimeout(r, 50));
    }
    expect(found).toMatchObject({ ip: '127.0.0.2', path: '/whatsapp/main' });
  });

  it.each([false, true])('a signed 3 MB body gets 413, not a crash (chunked: %s)', async (chunked) => {
    // nginx refuses it (client_max_body_size = bodyLimit). Were nginx's limit the larger one, the
    // relay would refuse mid-stream and close, which nginx reports as 502: keep them equal.
    const res = await signed('whatsapp', accounts.whatsapp?.[0], Buffer.alloc(3 * 1024 * 1024, 'a'), chunked);
    expect(res.status).toBe(413);
    expect((await fetch(`${t.opsUrl}/healthz`)).status).toBe(200);
    const after = await signed('telegram', accounts.telegram?.[0], telegramFixture('callback-query'));
    expect(after.status).toBe(200);
  });

  it.each([
    '/healthz',
    '/readyz',
    '/metrics',
    '/admin/events',
    '/admin/queues',
    '/webhook/../metrics',
    '/whatsapp/%2e%2e/healthz',
  ])('the ops port is not reachable through the proxy: %s is 404', async (path) => {
    const res = await viaNginx(path, { method: 'GET', headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status).toBe(404);
    expect(res.body).not.toMatch(/relay_requests_total|"status"|"ok"/);
  });

  it("the ops paths do answer on the ops port itself (so the 404s above are the proxy's doing)", async () => {
    expect((await fetch(`${t.opsUrl}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${t.opsUrl}/metrics`)).text()).toContain('relay_requests_total');
    const admin = await fetch(`${t.opsUrl}/admin/events`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(admin.status).toBe(200);
  });

  it('port 80 redirects to HTTPS on the relay host', async () => {
    const res = await fetch(`http://127.0.0.1:${ports.http}/whatsapp/main?x=1`, { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe(`https://${host}/whatsapp/main?x=1`);
  });

  it('the per-address limit answers 429 with Retry-After, for that address only', async () => {
    let limited: Awaited<ReturnType<typeof viaNginx>> | undefined;
    // burst=200 then 30/s: bounded at 1000 requests, sent 50 at a time from one address.
    for (let sent = 0; sent < 1000 && !limited; sent += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, () =>
          viaNginx('/webhook/ci/deploys', { method: 'GET', localAddress: '127.0.0.3' }),
        ),
      );
      expect(batch.every((r) => r.status === 405 || r.status === 429)).toBe(true);
      limited = batch.find((r) => r.status === 429);
    }
    expect(limited?.headers['retry-after']).toBe('1');
    const other = await viaNginx('/webhook/ci/deploys', { method: 'GET', localAddress: '127.0.0.4' });
    expect(other.status).toBe(405);
  });
});
