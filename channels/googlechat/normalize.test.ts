import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RejectedError } from '../../src/errors.js';
import { testKey } from '../../test/fakes/google-certs.js';
import { chatCertsUrl, googleOidcCertsUrl } from './config.js';
import { googlechat } from './index.js';
import { normalizeGoogleChat } from './normalize.js';

const dir = new URL('./fixtures/', import.meta.url);
const fixture = (file: string) =>
  JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as Record<string, unknown>;

describe('google chat normalize', () => {
  const expected: Record<string, string> = {
    'message.json': 'googlechat.message',
    'added-to-space.json': 'googlechat.added_to_space',
    'removed-from-space.json': 'googlechat.removed_from_space',
    'card-clicked.json': 'googlechat.card_clicked',
    'addon-message.json': 'googlechat.message',
    'addon-added-to-space.json': 'googlechat.added_to_space',
    'addon-button-clicked.json': 'googlechat.card_clicked',
    'addon-app-command.json': 'googlechat.app_command',
  };
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

  it('has an expectation for every fixture', () => {
    expect(files.sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(files)('%s normalizes without throwing, keeps the payload unaltered, and has a key', (file) => {
    const body = fixture(file);
    const event = normalizeGoogleChat(body);
    expect(event.type).toBe(expected[file]);
    expect(event.payload).toBe(body);
    expect(event.key).toBeTruthy();
    expect(event.subject).toBe('spaces/AAAAAAAAAAA');
  });

  it('classic MESSAGE: keyed on message.name, with data.message and the event time', () => {
    expect(normalizeGoogleChat(fixture('message.json'))).toMatchObject({
      key: 'spaces/AAAAAAAAAAA/messages/CCCCCCCCCCC',
      time: '2017-03-02T19:02:59.910Z',
      message: {
        id: 'spaces/AAAAAAAAAAA/messages/CCCCCCCCCCC',
        conversation: 'spaces/AAAAAAAAAAA',
        sender: 'users/12345678901234567890',
        text: '@TestApp Violence is my last option.',
        thread: 'spaces/AAAAAAAAAAA/threads/BBBBBBBBBBB',
      },
    });
  });

  it('add-on messagePayload: the same view of the message', () => {
    expect(normalizeGoogleChat(fixture('addon-message.json'))).toMatchObject({
      key: 'spaces/AAAAAAAAAAA/messages/DDDDDDDDDDD.DDDDDDDDDDD',
      time: '2025-01-02T03:04:05.678Z',
      message: {
        conversation: 'spaces/AAAAAAAAAAA',
        sender: 'users/12345678901234567890',
        text: 'hello from chat',
      },
    });
  });

  it('other events: keyed on type|space|eventTime|user, so two clicks on one card stay two events', () => {
    const click = normalizeGoogleChat(fixture('card-clicked.json'));
    expect(click.key).toBe(
      'CARD_CLICKED|spaces/AAAAAAAAAAA|2019-02-05T20:19:10.734603Z|users/12345678901234567890',
    );
    expect(click.message).toBeUndefined();
    const again = normalizeGoogleChat({
      ...fixture('card-clicked.json'),
      eventTime: '2019-02-05T20:19:12.000000Z',
    });
    expect(again.key).not.toBe(click.key);
    expect(normalizeGoogleChat(fixture('removed-from-space.json')).key).toBe(
      'REMOVED_FROM_SPACE|spaces/AAAAAAAAAAA|2017-03-02T19:02:59.910959Z|users/12345678901234567890',
    );
  });

  it('refuses a body that is not a Chat event (400)', () => {
    for (const body of [{}, { type: 'message; drop' }, { chat: { somethingElse: {} } }, { type: 42 }]) {
      expect(() => normalizeGoogleChat(body)).toThrow(RejectedError);
    }
  });
});

describe('google chat config', () => {
  it('derives the mode and default keys from the audience', () => {
    const [byNumber, byUrl] = googlechat.accounts.parse([
      { account: 'a', audience: '123456789012' },
      { account: 'b', audience: 'https://relay.example.com/google-chat/b' },
    ]);
    expect(byNumber).toMatchObject({
      mode: 'project-number',
      certsUrl: chatCertsUrl,
      apiRoot: 'https://pubsub.googleapis.com',
    });
    expect(byUrl).toMatchObject({
      mode: 'endpoint-url',
      certsUrl: googleOidcCertsUrl,
      serviceAccountEmail: 'chat@system.gserviceaccount.com',
    });
    expect(googlechat.warnings(byNumber as NonNullable<typeof byNumber>)).toEqual([]);
  });

  it('accepts the Pub/Sub fields: a subscription runs the pull loop, and without credentials is warned about', () => {
    const [a] = googlechat.accounts.parse([
      {
        account: 'a',
        audience: '1',
        subscription: 'projects/p/subscriptions/chat-events',
        credentials: { accessToken: ['t-new', 't-old'] },
      },
    ]);
    expect(a?.credentials?.accessToken).toEqual(['t-new', 't-old']);
    const account = a as NonNullable<typeof a>;
    expect(googlechat.warnings(account)).toEqual([]);
    expect(googlechat.loops(account).map((l) => l.name)).toEqual(['pubsub-pull']);
    const { credentials: _, ...bare } = account;
    expect(googlechat.warnings(bare).join()).toMatch(/sets subscription .* but no credentials/);
    expect(googlechat.loops({ ...bare, subscription: undefined })).toEqual([]);
  });

  it('reports every problem at its path', () => {
    const result = googlechat.accounts.safeParse([
      { account: 'a', audience: 'not a number or url' },
      {
        account: 'b',
        audience: '1',
        subscription: 'chat-events',
        credentials: { serviceAccountFile: '/x', accessToken: 't' },
      },
      { account: 'c', audience: '1', credentials: {} },
    ]);
    const issues = result.error?.issues.map((i) => i.path.join('.')) ?? [];
    expect(issues).toEqual(
      expect.arrayContaining(['0.audience', '1.subscription', '1.credentials', '2.credentials']),
    );
  });
});

describe('google certs fake', () => {
  it('serves real X.509 certificates for the keys the test makes', () => {
    const key = testKey('k');
    const cert = new X509Certificate(key.certPem);
    expect(cert.verify(key.publicKey)).toBe(true);
    expect(cert.publicKey.export({ format: 'jwk' })).toEqual(key.publicKey.export({ format: 'jwk' }));
  });
});
