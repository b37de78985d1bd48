import { readFileSync } from 'node:fs';
import { base64url, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeMicrosoftKeys, startFakeMicrosoftKeys } from '../../test/fakes/bot-framework-keys.js';
import { startTestRelay, type TestRelay } from '../../test/support/relay.js';

const now = 1_800_000_000_000;
const nowSec = now / 1000;
const appId = 'c9e8c047-2a74-40a2-b28a-b162d5f5327c';
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const activity = fixture('bot-message.json') as Record<string, unknown> & { serviceUrl: string; id: string };
const body = JSON.stringify(activity);
const json = { 'content-type': 'application/json' };

let fake: FakeMicrosoftKeys;
let t: TestRelay;

const claims = (over: Record<string, unknown> = {}) => ({
  iss: 'https://api.botframework.com',
  aud: appId,
  serviceurl: activity.serviceUrl,
  ...over,
});
const bearer = async (over: Record<string, unknown> = {}) => ({
  ...json,
  authorization: `Bearer ${await fake.signBot(claims(over), { nowSec })}`,
});

beforeAll(async () => {
  fake = await startFakeMicrosoftKeys();
  t = await startTestRelay(
    {
      channels: {
        teams: [
          { account: 'contoso', appId, openIdMetadataUrl: fake.openIdMetadataUrl() },
          { account: 'rotation', appId, openIdMetadataUrl: fake.openIdMetadataUrl('rotation') },
          { account: 'graphonly', clientState: 'graph-only-state' },
          { account: 'down', appId, openIdMetadataUrl: fake.openIdMetadataUrl('down') },
        ],
      },
    },
    { now: () => now },
  );
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

describe('Bot Framework: accepted activities', () => {
  it('queues one teams.activity keyed by activity and conversation, answers 200 with an empty body', async () => {
    const res = await t.post('/teams/contoso/messages', body, await bearer());
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    const jobs = (await t.jobs()).filter((e) => e.data.message?.id === activity.id);
    expect(jobs).toHaveLength(1);
    const e = jobs[0];
    expect(e).toMatchObject({
      type: 'teams.activity',
      source: '/teams/contoso',
      subject: (activity.conversation as { id: string }).id,
      time: '2017-02-01T21:10:07.437Z',
      data: {
        payload: activity,
        message: {
          text: 'Hello Teams TestBot',
          sender: (activity.from as { id: string }).id,
          senderName: 'Megan Bowen',
        },
      },
    });
    const again = await t.post('/teams/contoso/messages', body, await bearer());
    expect(again.status).toBe(200);
    expect((await t.jobs()).filter((x) => x.id === e?.id)).toHaveLength(1);
  });

  it('accepts a token expired less than the 300 s clock tolerance ago', async () => {
    const update = fixture('bot-conversation-update.json') as { serviceUrl: string };
    const headers = {
      ...json,
      authorization: `Bearer ${await fake.signBot(claims({ serviceurl: update.serviceUrl, exp: nowSec - 200, nbf: nowSec - 900, iat: nowSec - 900 }), { nowSec })}`,
    };
    const res = await t.post('/teams/contoso/messages', JSON.stringify(update), headers);
    expect(res.status).toBe(200);
    const jobs = await t.jobs();
    expect(
      jobs.some(
        (e) =>
          e.type === 'teams.activity' && e.subject === '19:efa9296d959346209fea44151c742e73@thread.skype',
      ),
    ).toBe(true);
  });

  it('refetches the keys when a token names an unknown kid (rotation)', async () => {
    expect((await t.post('/teams/rotation/messages', body, await bearer())).status).toBe(200);
    const fetched = fake.hits.get('/botframework/keys') ?? 0;
    const rotated = await fake.newKey('bot-key-2');
    fake.publishBotKey(rotated);
    const token = await fake.signBot(claims(), { nowSec, key: rotated });
    const next = { ...activity, id: 'rotated-1' };
    const res = await t.post('/teams/rotation/messages', JSON.stringify(next), {
      ...json,
      authorization: `Bearer ${token}`,
    });
    expect(res.status).toBe(200);
    expect(fake.hits.get('/botframework/keys')).toBeGreaterThan(fetched);
  });
});

describe('Bot Framework: refused requests make no job', () => {
  const unsigned = (header: object, payload: object) =>
    `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}.`;
  const cases: Array<[string, () => Promise<Record<string, string>>, string?]> = [
    ['missing Authorization', async () => json],
    ['not a Bearer token', async () => ({ ...json, authorization: 'Basic dXNlcjpwYXNz' })],
    ['garbled JWT', async () => ({ ...json, authorization: 'Bearer abc.def.ghi' })],
    ['wrong audience', () => bearer({ aud: 'another-bot' })],
    ['wrong issuer', () => bearer({ iss: 'https://sts.windows.net/evil/' })],
    ['expired past the tolerance', () => bearer({ exp: nowSec - 301, nbf: nowSec - 900, iat: nowSec - 900 })],
    [
      'not yet valid past the tolerance',
      () => bearer({ nbf: nowSec + 400, iat: nowSec + 400, exp: nowSec + 4000 }),
    ],
    ['serviceurl claim differs from serviceUrl', () => bearer({ serviceurl: 'https://evil.example/' })],
    ['no serviceurl claim', () => bearer({ serviceurl: undefined })],
    [
      'signed by an unknown key',
      async () => {
        const stranger = await fake.newKey('stranger-key');
        return {
          ...json,
          authorization: `Bearer ${await fake.signBot(claims(), { nowSec, key: stranger })}`,
        };
      },
    ],
    [
      'forged with the published kid',
      async () => {
        const forged = await fake.newKey(fake.botKey.kid);
        return { ...json, authorization: `Bearer ${await fake.signBot(claims(), { nowSec, key: forged })}` };
      },
    ],
    [
      'alg none',
      async () => ({
        ...json,
        authorization: `Bearer ${unsigned({ alg: 'none', typ: 'JWT', kid: fake.botKey.kid }, { ...claims(), iat: nowSec, exp: nowSec + 600 })}`,
      }),
    ],
    [
      'HS256 keyed with the public key',
      async () => {
        const secret = new TextEncoder().encode(String(fake.botKey.jwk.n));
        const token = await new SignJWT({ ...claims(), iat: nowSec, exp: nowSec + 600 })
          .setProtectedHeader({ alg: 'HS256', kid: fake.botKey.kid })
          .sign(secret);
        return { ...json, authorization: `Bearer ${token}` };
      },
    ],
    [
      'channelId not endorsed by the key',
      () => bearer(),
      JSON.stringify({ ...activity, id: 'slack-1', channelId: 'slack' }),
    ],
    [
      'no channelId while the key lists endorsements',
      () => bearer(),
      JSON.stringify({ ...activity, id: 'nochan-1', channelId: undefined }),
    ],
  ];

  it.each(cases)('%s → 401', async (_name, headers, payload) => {
    const before = (await t.jobs()).length;
    const res = await t.post(
      '/teams/contoso/messages',
      payload ?? JSON.stringify({ ...activity, id: `neg-${_name}` }),
      await headers(),
    );
    expect(res.status).toBe(401);
    expect(typeof ((await res.json()) as { error: string }).error).toBe('string');
    expect((await t.jobs()).length).toBe(before);
  });

  it('an account without appId refuses even a valid token (fail closed)', async () => {
    expect((await t.post('/teams/graphonly/messages', body, await bearer())).status).toBe(401);
  });

  it('unknown account → 404; malformed JSON with a valid token → 400; form body → 415', async () => {
    expect((await t.post('/teams/nobody/messages', body, await bearer())).status).toBe(404);
    expect((await t.post('/teams/contoso/messages', '{"type":', await bearer())).status).toBe(400);
    const form = { ...(await bearer()), 'content-type': 'application/x-www-form-urlencoded' };
    expect((await t.post('/teams/contoso/messages', 'a=1', form)).status).toBe(415);
  });

  it('a failing key endpoint is a 503 with Retry-After, not a 401', async () => {
    fake.failWith(500);
    try {
      const res = await t.post('/teams/down/messages', body, await bearer());
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBeTruthy();
    } finally {
      fake.failWith(undefined);
    }
  });

  it('records rejections without the token', async () => {
    const headers = await bearer({ aud: 'another-bot' });
    await t.post('/teams/contoso/messages', body, headers);
    await t.post('/teams/contoso/messages', body, json);
    await new Promise((r) => setTimeout(r, 50));
    const entries = await t.relay.redis.xrevrange(`${t.prefix}:relay:rejections`, '+', '-', 'COUNT', 100);
    const flat = entries.map(([, f]) => f.join(' ')).join('\n');
    expect(flat).toContain('bad_signature');
    expect(flat).toContain('missing_signature');
    expect(flat).toContain('authorization');
    expect(flat).not.toContain(headers.authorization.slice(7));
  });
});
