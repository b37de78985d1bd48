import { readFileSync } from 'node:fs';
import type { JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventId } from '../../src/queue/envelope.js';
import {
  type GoogleCertsServer,
  type SignOptions,
  signGoogleJwt,
  startGoogleCerts,
  type TestKey,
  testKey,
} from '../../test/fakes/google-certs.js';
import { startTestRelay, type TestRelay } from '../../test/support/relay.js';

const now = 1_800_000_000_000;
const projectNumber = '123456789012';
const endpointUrl = 'https://relay.example.com/google-chat/endpoint';
const addOnUrl = 'https://relay.example.com/google-chat/addon';
const addOnAccount = `service-${projectNumber}@gcp-sa-gsuiteaddons.iam.gserviceaccount.com`;
const chat = 'chat@system.gserviceaccount.com';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const message = fixture('message.json');

const projectClaims: JWTPayload = { iss: chat, aud: projectNumber };
const idClaims = (aud = endpointUrl, email = chat): JWTPayload => ({
  iss: 'https://accounts.google.com',
  aud,
  azp: '113456789012345678901',
  sub: '113456789012345678901',
  email,
  email_verified: true,
});

let certs: GoogleCertsServer;
let down: GoogleCertsServer;
let key: TestKey;
let second: TestKey;
let rogue: TestKey;
let t: TestRelay;

beforeAll(async () => {
  [key, second, rogue] = [testKey(), testKey(), testKey()];
  certs = await startGoogleCerts(key, second);
  down = await startGoogleCerts(key);
  down.failWith(500);
  t = await startTestRelay(
    {
      channels: {
        googleChat: [
          { account: 'project', audience: projectNumber, certsUrl: certs.x509Url },
          { account: 'endpoint', audience: endpointUrl, certsUrl: certs.x509Url },
          {
            account: 'addon',
            audience: addOnUrl,
            certsUrl: certs.x509Url,
            serviceAccountEmail: addOnAccount,
            queue: 'chat-addon',
          },
          { account: 'down', audience: projectNumber, certsUrl: down.x509Url },
        ],
      },
    },
    { now: () => now },
  );
});
afterAll(async () => {
  await t.close();
  await certs.close();
  await down.close();
});

const token = (claims: JWTPayload, options: Partial<SignOptions> = {}, signer = key) =>
  signGoogleJwt(signer, claims, { nowMs: now, ...options });
const post = (account: string, body: string, authorization?: string) =>
  t.post(`/google-chat/${account}`, body, {
    'content-type': 'application/json',
    'user-agent': 'Google-Dynamite',
    ...(authorization === undefined ? {} : { authorization }),
  });

describe('google chat: accepted requests', () => {
  it('project-number audience: 200 {} and one googlechat.message; a redelivery makes no second job', async () => {
    const res = await post('project', message, `Bearer ${await token(projectClaims)}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    const id = eventId('googlechat', 'project', 'spaces/AAAAAAAAAAA/messages/CCCCCCCCCCC');
    const job = await t.queue().getJob(id);
    expect(job?.name).toBe('googlechat.message');
    expect(job?.data).toMatchObject({
      source: '/google-chat/project',
      channel: 'googlechat',
      subject: 'spaces/AAAAAAAAAAA',
      time: '2017-03-02T19:02:59.910Z',
      data: {
        payload: JSON.parse(message),
        message: { text: '@TestApp Violence is my last option.', sender: 'users/12345678901234567890' },
      },
    });

    const before = (await t.jobs()).length;
    expect((await post('project', message, `Bearer ${await token(projectClaims)}`)).status).toBe(200);
    expect((await t.jobs()).length).toBe(before);
  });

  it('endpoint-URL audience: a Google ID token (either issuer spelling) for the URL, from the Chat account', async () => {
    const body = fixture('added-to-space.json');
    expect((await post('endpoint', body, `Bearer ${await token(idClaims())}`)).status).toBe(200);
    const spelled = { ...idClaims(), iss: 'accounts.google.com' };
    expect(
      (await post('endpoint', fixture('card-clicked.json'), `Bearer ${await token(spelled)}`)).status,
    ).toBe(200);
    const types = (await t.jobs()).filter((e) => e.account === 'endpoint').map((e) => e.type);
    expect(types.sort()).toEqual(['googlechat.added_to_space', 'googlechat.card_clicked']);
  });

  it("add-on events, signed by the app's own service account when serviceAccountEmail names it", async () => {
    const body = fixture('addon-message.json');
    const res = await post('addon', body, `Bearer ${await token(idClaims(addOnUrl, addOnAccount))}`);
    expect(res.status).toBe(200);
    const [event] = await t.jobs('chat-addon');
    expect(event).toMatchObject({
      type: 'googlechat.message',
      data: { message: { text: 'hello from chat' } },
    });
    expect((await post('addon', body, `Bearer ${await token(idClaims(addOnUrl, chat))}`)).status).toBe(401);
  });

  it('accepts any published key, and an expiry within the 300 s clock tolerance', async () => {
    const body = fixture('removed-from-space.json');
    expect((await post('project', body, `Bearer ${await token(projectClaims, {}, second)}`)).status).toBe(
      200,
    );
    const late = await token(projectClaims, { nowMs: now - 3_800_000 });
    expect((await post('project', fixture('addon-app-command.json'), `Bearer ${late}`)).status).toBe(200);
  });
});

describe('google chat: rejected requests make no job', () => {
  type Case = [string, number, string, () => Promise<string | undefined>];
  const cases: Case[] = [
    ['missing Authorization', 401, 'project', async () => undefined],
    ['Basic instead of Bearer', 401, 'project', async () => 'Basic Y2hhdDpjaGF0'],
    ['garbled bearer token', 401, 'project', async () => 'Bearer not-a-jwt'],
    ['garbled JWT parts', 401, 'project', async () => 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.AAAA'],
    [
      'truncated signature',
      401,
      'project',
      async () => `Bearer ${(await token(projectClaims)).slice(0, -8)}`,
    ],
    [
      'wrong audience (project number)',
      401,
      'project',
      async () => `Bearer ${await token({ ...projectClaims, aud: '999' })}`,
    ],
    [
      'wrong audience (URL)',
      401,
      'endpoint',
      async () => `Bearer ${await token(idClaims(`${endpointUrl}/`))}`,
    ],
    [
      'wrong issuer (project number)',
      401,
      'project',
      async () => `Bearer ${await token({ ...projectClaims, iss: 'https://accounts.google.com' })}`,
    ],
    [
      'wrong issuer (URL)',
      401,
      'endpoint',
      async () => `Bearer ${await token({ ...idClaims(), iss: chat })}`,
    ],
    [
      'wrong key: a published kid, signed by another key',
      401,
      'project',
      async () => `Bearer ${await token(projectClaims, { privateKey: rogue.privateKey })}`,
    ],
    ['unknown kid', 401, 'project', async () => `Bearer ${await token(projectClaims, {}, rogue)}`],
    [
      'expired token',
      401,
      'project',
      async () => `Bearer ${await token(projectClaims, { nowMs: now - 4_000_000 })}`,
    ],
    [
      'RS384 instead of RS256',
      401,
      'project',
      async () => `Bearer ${await token(projectClaims, { alg: 'RS384' })}`,
    ],
    [
      'email not verified',
      401,
      'endpoint',
      async () => `Bearer ${await token({ ...idClaims(), email_verified: false })}`,
    ],
    [
      'wrong email',
      401,
      'endpoint',
      async () => `Bearer ${await token(idClaims(endpointUrl, 'someone@example.iam.gserviceaccount.com'))}`,
    ],
    ['no email', 401, 'endpoint', async () => `Bearer ${await token({ ...idClaims(), email: undefined })}`],
    [
      'a project-number token at an endpoint-URL account',
      401,
      'endpoint',
      async () => `Bearer ${await token(projectClaims)}`,
    ],
    ['unknown account', 404, 'nobody', async () => `Bearer ${await token(projectClaims)}`],
  ];

  it.each(cases)('%s → %i', async (_name, status, account, auth) => {
    const before = (await t.jobs()).length;
    const res = await post(
      account,
      fixture('card-clicked.json').replace('2019-02-05T20:19:10', '2019-02-06T20:19:10'),
      await auth(),
    );
    expect(res.status).toBe(status);
    expect(typeof ((await res.json()) as { error: string }).error).toBe('string');
    expect((await t.jobs()).length).toBe(before);
  });

  it('400 for a verified body that is not JSON or not a Chat event; 415 for another content type', async () => {
    const auth = `Bearer ${await token(projectClaims)}`;
    expect((await post('project', '{"type":', auth)).status).toBe(400);
    expect((await post('project', '{"hello":"world"}', auth)).status).toBe(400);
    const res = await t.post('/google-chat/project', message, {
      'content-type': 'text/plain',
      authorization: auth,
    });
    expect(res.status).toBe(415);
  });

  it('503 with Retry-After when the certificates cannot be fetched: Google retries, nothing is queued', async () => {
    const before = (await t.jobs()).length;
    const res = await post('down', message, `Bearer ${await token(projectClaims)}`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
    expect((await t.jobs()).length).toBe(before);
    expect(down.requests).toBeGreaterThan(0);
  });

  it('fetches the certificates once, not per request', () => {
    expect(certs.requests).toBeLessThanOrEqual(2);
  });

  it('records the reasons and never logs a token', async () => {
    const secretToken = await token(projectClaims);
    await post('endpoint', message, `Bearer ${secretToken}`);
    const entries = await t.relay.redis.xrevrange(`${t.prefix}:relay:rejections`, '+', '-', 'COUNT', 100);
    const flat = entries.map(([, fields]) => fields.join(' ')).join('\n');
    for (const code of ['missing_signature', 'bad_signature', 'unknown_account', 'bad_body'])
      expect(flat).toContain(code);
    expect(flat).toContain('token expired');
    expect(flat).not.toContain(secretToken);
    expect(t.logs.join('\n')).not.toContain(secretToken);
  });
});
