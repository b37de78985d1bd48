import {
  constants,
  createCipheriv,
  createHmac,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ChannelEvent, InboundRequest, InboundRoute, RouteContext } from '../../src/channel.js';
import { secretList } from '../../src/config/secret.js';
import { RejectedError } from '../../src/errors.js';
import { normalizeActivity } from './bot-normalize.js';
import { type TeamsAccount, teamsAccount } from './config.js';
import { decryptContent } from './decrypt.js';
import { exampleAccount } from './fixtures/config.js';
import { teams, withClientState } from './index.js';

const fixtures = readdirSync(new URL('./fixtures/', import.meta.url)).filter((f) => f.endsWith('.json'));
const fixtureUrl = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const load = (name: string): unknown => JSON.parse(readFileSync(fixtureUrl(name), 'utf8'));
const problems = (raw: unknown) => {
  const result = teamsAccount.safeParse(raw);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

const account = teamsAccount.parse(exampleAccount);
const notifications: InboundRoute<TeamsAccount, unknown> | undefined = teams.routes.find((r) =>
  r.path.endsWith('/notifications'),
);
const routeContext: RouteContext = { now: Date.now, log: pino({ level: 'silent' }), reject: () => {} };

/** The production path of the Graph route, in process: verify on the signed bytes, then receive. */
async function graphEvents(body: Buffer): Promise<readonly ChannelEvent[]> {
  if (!notifications) throw new Error('no Graph notifications route');
  const req: InboundRequest = {
    method: 'POST',
    path: '/teams/contoso/notifications',
    query: new URLSearchParams(),
    headers: { 'content-type': 'application/json' },
    body,
    mediaType: 'application/json',
    ip: '127.0.0.1',
    receivedAt: Date.now(),
  };
  const proof = await notifications.verify(req, account, routeContext);
  return (await notifications.receive(req, account, routeContext, proof)).events;
}
const signedFixture = (name: string) => withClientState(account, readFileSync(fixtureUrl(name)));

/** Refused as the route refuses (a RejectedError, a 4xx), or accepted: never anything else. */
async function refusedOrAccepted(body: Buffer): Promise<void> {
  try {
    await graphEvents(body);
  } catch (err) {
    expect(err).toBeInstanceOf(RejectedError);
  }
}

describe('normalize over recorded fixtures', () => {
  it.each(fixtures)(
    '%s never fails but as a refusal, as a Graph batch, nor throws as an activity',
    async (name) => {
      await refusedOrAccepted(signedFixture(name));
      expect(() => normalizeActivity(load(name) as Record<string, unknown>)).not.toThrow();
    },
  );

  it('maps the documented examples to contract types and keys', async () => {
    const [notification] = await graphEvents(signedFixture('graph-notification.json'));
    expect(notification).toMatchObject({ type: 'teams.notification', key: 'lsgTZMr9KwAAA' });
    const lifecycle = await graphEvents(signedFixture('graph-lifecycle.json'));
    expect(lifecycle.map((e) => e.type)).toEqual(['teams.lifecycle', 'teams.lifecycle', 'teams.lifecycle']);
    expect(new Set(lifecycle.map((e) => e.key)).size).toBe(3);
    const [rich] = await graphEvents(signedFixture('graph-rich-notification.json'));
    // No id: subscription | change | resource id | etag.
    expect(rich?.key).toBe('76222963-cc7b-42d2-882d-8aaa69cb2ba3|created|1565293727947|');
    const update = normalizeActivity(load('bot-conversation-update.json') as Record<string, unknown>);
    expect(update).toMatchObject({
      type: 'teams.activity',
      key: 'f:5f85c2ad|19:efa9296d959346209fea44151c742e73@thread.skype',
    });
    expect(update.message).toBeUndefined();
  });

  it('survives hostile shapes', async () => {
    const clientState = exampleAccount.clientState[0];
    for (const body of [
      null,
      42,
      'x',
      [],
      { value: 'no' },
      { value: [null, 1, { resourceData: 'x', clientState }] },
    ]) {
      await refusedOrAccepted(Buffer.from(JSON.stringify(body)));
    }
    const [odd] = await graphEvents(
      Buffer.from(JSON.stringify({ value: [null, { resourceData: 'x', clientState }] })),
    );
    expect(odd).toMatchObject({ type: 'teams.notification', key: undefined });
    expect(normalizeActivity({ id: 7, conversation: 'x', from: [], timestamp: 'not a date' })).toMatchObject({
      key: undefined,
      time: undefined,
    });
  });
});

describe('rich notification decryption', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const other = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const encrypt = (plaintext: string, key = randomBytes(32)) => {
    const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      data: data.toString('base64'),
      dataKey: publicEncrypt(
        { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
        key,
      ).toString('base64'),
      dataSignature: createHmac('sha256', key).update(data).digest('base64'),
    };
  };

  it('decrypts with any key of a rotation list', () => {
    const content = encrypt('{"id":"1","body":{"content":"hi"}}');
    expect(decryptContent(content, secretList([other.privateKey, privateKey]))).toEqual({
      ok: true,
      resource: { id: '1', body: { content: 'hi' } },
    });
  });

  it('refuses a wrong key, a wrong signature, and non-JSON plaintext', () => {
    const content = encrypt('{"a":1}');
    expect(decryptContent(content, secretList(other.privateKey))).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
    const forged = {
      ...content,
      dataSignature: createHmac('sha256', randomBytes(32)).update('x').digest('base64'),
    };
    expect(decryptContent(forged, secretList(privateKey))).toMatchObject({
      ok: false,
      why: 'dataSignature mismatch',
    });
    expect(decryptContent(encrypt('not json'), secretList(privateKey))).toMatchObject({
      ok: false,
      reason: 'bad_body',
    });
  });
});

describe('config', () => {
  it('accepts the example account (secret lists, subscriptions, credentials) and runs the subscription loop for it', () => {
    const account = teamsAccount.parse(exampleAccount);
    expect(account.clientState).toEqual(['example-client-state-new', 'example-client-state-old']);
    expect(account.openIdMetadataUrl).toBe(
      'https://login.botframework.com/v1/.well-known/openidconfiguration',
    );
    expect(account.graphUrl).toBe('https://graph.microsoft.com/v1.0');
    expect(account.credentials).toMatchObject({
      kind: 'client',
      tenantId: exampleAccount.credentials.tenantId,
    });
    expect(account.credentials).toMatchObject({
      tokenUrl: `https://login.microsoftonline.com/${exampleAccount.credentials.tenantId}/oauth2/v2.0/token`,
    });
    expect(teams.loops(account).map((l) => l.name)).toEqual(['subscriptions']);
    expect(teams.loops({ ...account, subscriptions: [] })).toEqual([]);
    expect(
      teamsAccount.parse({ account: 'tok', appId: 'a', credentials: { accessToken: 't' } }).credentials,
    ).toMatchObject({ kind: 'token' });
  });

  it('reports every problem at its own path', () => {
    expect(problems({ account: 'empty' })).toEqual([
      expect.stringMatching(/^clientState: configure clientState/),
    ]);
    expect(problems({ account: 'long', clientState: 'x'.repeat(256) })).toEqual([
      'clientState: must be at most 255 characters (Graph limit)',
    ]);
    expect(problems({ account: 'c', appId: 'a', credentials: { tenantId: 't' } })).toEqual(
      expect.arrayContaining([
        'credentials.clientSecret: required (or clientSecretFile)',
        'credentials.clientId: required (or use accessToken)',
      ]),
    );
    expect(problems({ account: 'k', clientState: 's', decryptionKey: 'not a pem' })).toEqual(
      expect.arrayContaining([
        'decryptionKey.0: must be a PEM private key',
        expect.stringMatching(/^credentials: rich notifications need/),
      ]),
    );
    const subscription = (changeType: string) => ({
      account: 's',
      appId: 'a',
      subscriptions: [{ resource: '/chats/getAllMessages', changeType }],
    });
    expect(problems(subscription('sent'))).toEqual([
      expect.stringMatching(/^subscriptions.0.changeType: must be created/),
    ]);
    expect(problems(subscription('created,updated'))).toEqual([
      'subscriptions: subscriptions need a clientState',
    ]);
  });
});
