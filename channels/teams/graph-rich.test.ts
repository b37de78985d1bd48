import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeMicrosoftKeys, startFakeMicrosoftKeys } from '../../test/fakes/bot-framework-keys.js';
import { startTestRelay, type TestRelay } from '../../test/support/relay.js';
import { clientId, encryptLikeGraph, fixture, graphItem as item, tenantId } from './fixtures/graph.js';
import { graphChangeTrackingAppId } from './graph-verify.js';

const now = 1_800_000_000_000;
const nowSec = now / 1000;
const { publicKey, privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const json = { 'content-type': 'application/json' };

let fake: FakeMicrosoftKeys;
let t: TestRelay;

const validationToken = (claims: Record<string, unknown> = {}) =>
  fake.signGraph(
    {
      iss: `https://sts.windows.net/${tenantId}/`,
      aud: clientId,
      appid: graphChangeTrackingAppId,
      ...claims,
    },
    { nowSec },
  );

async function ids(res: Response): Promise<string[]> {
  expect(res.status).toBe(202);
  return ((await res.json()) as { ids: string[] }).ids;
}

beforeAll(async () => {
  fake = await startFakeMicrosoftKeys();
  const credentials = { tenantId, clientId, clientSecret: 'graph-client-secret' };
  const rich = { decryptionKey: privateKey, credentials };
  t = await startTestRelay(
    {
      channels: {
        teams: [
          { account: 'contoso', clientState: 'cs-new', ...rich, validationJwksUrl: fake.graphJwksUrl },
          { account: 'keysdown', clientState: 'cs-down', ...rich, validationJwksUrl: `${fake.url}/missing` },
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

describe('Graph: rich notifications', () => {
  const chatMessage = fixture('graph-chat-message.json') as { id: string; chatId: string };

  it('verifies validationTokens and dataSignature, decrypts the resource into the payload', async () => {
    const encryptedContent = encryptLikeGraph(chatMessage, publicKey);
    const body = JSON.stringify({
      value: [item({ encryptedContent })],
      validationTokens: [await validationToken()],
    });
    const [id] = await ids(await t.post('/teams/contoso/notifications', body, json));
    const event = (await t.queue().getJob(id as string))?.data;
    expect(event?.data.payload).toMatchObject({ encryptedContent, decryptedContent: chatMessage });
    expect(event?.data.message).toMatchObject({
      id: chatMessage.id,
      text: 'Hello World',
      conversation: chatMessage.chatId,
    });
    expect(event?.subject).toBe(chatMessage.chatId);
  });

  it('a tampered data byte fails dataSignature: the item is dropped, alone it is a 401', async () => {
    const encryptedContent = encryptLikeGraph(chatMessage, publicKey);
    const data = Buffer.from(encryptedContent.data, 'base64');
    data[5] = (data[5] ?? 0) ^ 1;
    const tampered = { ...encryptedContent, data: data.toString('base64') };
    const tokens = [await validationToken()];
    const before = (await t.jobs()).length;
    const alone = await t.post(
      '/teams/contoso/notifications',
      JSON.stringify({ value: [item({ encryptedContent: tampered })], validationTokens: tokens }),
      json,
    );
    expect(alone.status).toBe(401);
    expect((await t.jobs()).length).toBe(before);
    const mixed = { value: [item({ encryptedContent: tampered }), item()], validationTokens: tokens };
    expect(await ids(await t.post('/teams/contoso/notifications', JSON.stringify(mixed), json))).toHaveLength(
      1,
    );
    await new Promise((r) => setTimeout(r, 50));
    const entries = await t.relay.redis.xrevrange(`${t.prefix}:relay:rejections`, '+', '-', 'COUNT', 50);
    expect(entries.map(([, f]) => f.join(' ')).join('\n')).toContain('dataSignature mismatch');
  });

  const badTokens: Array<[string, () => Promise<unknown[] | undefined>]> = [
    ['no validationTokens', async () => undefined],
    [
      'appid is not Graph',
      async () => [await validationToken({ appid: 'f0000000-0000-0000-0000-000000000000' })],
    ],
    ['wrong audience', async () => [await validationToken({ aud: 'another-app' })]],
    ['wrong tenant', async () => [await validationToken({ iss: 'https://sts.windows.net/other-tenant/' })]],
    ['expired', async () => [await validationToken({ exp: nowSec - 600 })]],
    [
      'one good, one forged',
      async () => [
        await validationToken(),
        await fake.signGraph({}, { key: await fake.newKey('graph-key-1') }),
      ],
    ],
  ];
  it.each(badTokens)('validationTokens: %s → the rich item is refused', async (_name, tokens) => {
    const before = (await t.jobs()).length;
    const list = await tokens();
    const body = {
      value: [item({ encryptedContent: encryptLikeGraph(chatMessage, publicKey) })],
      ...(list ? { validationTokens: list } : {}),
    };
    const res = await t.post('/teams/contoso/notifications', JSON.stringify(body), json);
    expect(res.status).toBe(401);
    expect((await t.jobs()).length).toBe(before);
  });

  it('an unreachable key endpoint is a 503: Graph retries, nothing queued', async () => {
    const body = {
      value: [item({ clientState: 'cs-down', encryptedContent: encryptLikeGraph(chatMessage, publicKey) })],
      validationTokens: [await validationToken()],
    };
    const res = await t.post('/teams/keysdown/notifications', JSON.stringify(body), json);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
  });
  it('never logs a clientState, a client secret or the private key', () => {
    const text = t.logs.join('\n');
    for (const secret of ['cs-new', 'cs-down', 'graph-client-secret', 'PRIVATE KEY'])
      expect(text).not.toContain(secret);
  });
});
