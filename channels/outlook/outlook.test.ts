import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectSecrets } from '../../src/config/secret.js';
import { exampleAccount } from './fixtures/config.js';
import { deltaStart, type GraphItem, ontoGraphUrl } from './graph.js';
import { outlook } from './index.js';
import { normalizeOutlookItem } from './normalize.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as {
    value: GraphItem[];
  };
const parse = (raw: unknown) => outlook.accounts.safeParse([raw]);
const issues = (raw: unknown) => {
  const r = parse(raw);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.slice(1).join('.')}: ${i.message}`);
};

describe('outlook config', () => {
  it('accepts client credentials with defaults, and a static access token', () => {
    const r = parse(exampleAccount);
    expect(r.success && r.data[0]).toMatchObject({
      folder: 'inbox',
      graphUrl: 'https://graph.microsoft.com/v1.0',
      credentials: { kind: 'client', authorityUrl: 'https://login.microsoftonline.com' },
    });
    expect(
      issues({ account: 'a', user: 'u@contoso.com', credentials: { accessToken: 'eyJ0eXAi.token' } }),
    ).toEqual([]);
  });

  it('reports missing and conflicting fields at their paths', () => {
    expect(issues({ account: 'a', user: 'u', credentials: { clientSecret: 's' } })).toEqual([
      'credentials.tenantId: required (or use accessToken)',
      'credentials.clientId: required (or use accessToken)',
    ]);
    expect(
      issues({ ...exampleAccount, credentials: { ...exampleAccount.credentials, accessToken: 't' } }),
    ).toEqual(['credentials.clientSecret: give clientSecret or accessToken, not both']);
    expect(issues({ ...exampleAccount, pollSeconds: 0.05 })[0]).toMatch(/^pollSeconds: /);
    expect(issues({ ...exampleAccount, user: undefined })[0]).toMatch(/^user: /);
  });
});

describe('outlook delegated credentials (refresh token)', () => {
  const app = {
    tenantId: exampleAccount.credentials.tenantId,
    clientId: 'b3a6c1e4-5d4f-4c3b-9e2a-1f0e9d8c7b6a',
  };
  const withCredentials = (credentials: Record<string, unknown>) => ({
    account: 'sales',
    user: 'sales@contoso.com',
    credentials,
  });
  const credentialsOf = (credentials: Record<string, unknown>) => {
    const r = parse(withCredentials(credentials));
    if (!r.success) throw new Error(r.error.issues.map((i) => i.message).join('; '));
    return r.data[0]?.credentials;
  };

  it('a refresh token (public client) is delegated access; with a client secret too; or from a file', () => {
    expect(credentialsOf({ ...app, refreshToken: '0.AXEA-refresh' })).toEqual({
      kind: 'delegated',
      ...app,
      refreshToken: ['0.AXEA-refresh'],
      clientSecret: undefined,
      authorityUrl: 'https://login.microsoftonline.com',
    });
    expect(
      credentialsOf({
        ...app,
        refreshToken: '0.AXEA-refresh',
        clientSecret: 'web-app-secret',
        authorityUrl: 'https://login.microsoftonline.us/',
      }),
    ).toMatchObject({
      kind: 'delegated',
      clientSecret: ['web-app-secret'],
      authorityUrl: 'https://login.microsoftonline.us',
    });
    const file = join(mkdtempSync(join(tmpdir(), 'relay-outlook-')), 'refresh');
    writeFileSync(file, '0.AXEA-from-file\n', { mode: 0o600 });
    expect(credentialsOf({ ...app, refreshTokenFile: file })).toMatchObject({
      kind: 'delegated',
      refreshToken: ['0.AXEA-from-file'],
    });
  });

  it('an empty secret (YAML null, as from VAR:- with VAR unset) is not set: the other fields decide the grant', () => {
    expect(credentialsOf({ ...app, clientSecret: 's', refreshToken: null, accessToken: null })).toMatchObject(
      {
        kind: 'client',
      },
    );
    expect(credentialsOf({ ...app, refreshToken: 'r', clientSecret: null })).toMatchObject({
      kind: 'delegated',
      clientSecret: undefined,
    });
    expect(credentialsOf({ refreshToken: null, accessToken: 'eyJ0eXAi.token' })).toMatchObject({
      kind: 'token',
    });
  });

  it('the refresh token and client secret are collected as secrets, for scrubbing logs', () => {
    const r = parse(
      withCredentials({ ...app, refreshToken: '0.AXEA-refresh', clientSecret: 'web-app-secret' }),
    );
    expect(r.success && [...collectSecrets(r.data)].sort()).toEqual(['0.AXEA-refresh', 'web-app-secret']);
  });

  it('refuses what makes no single grant, one line per problem at its path, saying what to give', () => {
    const only = (credentials: Record<string, unknown>) => issues(withCredentials(credentials));
    expect(only(app)).toEqual([
      'credentials: give refreshToken (delegated access: run relay auth microsoft) or clientSecret (app-only access), or use accessToken',
    ]);
    expect(only({ refreshToken: 'r' })).toEqual([
      'credentials.tenantId: required (or use accessToken)',
      'credentials.clientId: required (or use accessToken)',
    ]);
    expect(only({ ...app, refreshToken: 'r', accessToken: 't' })).toEqual([
      'credentials.refreshToken: give refreshToken or accessToken, not both',
    ]);
    expect(only({ ...app, clientSecret: 's', refreshTokenFile: '/run/secrets/r', accessToken: 't' })).toEqual(
      [
        'credentials.clientSecret: give clientSecret or accessToken, not both',
        'credentials.refreshToken: give refreshToken or accessToken, not both',
      ],
    );
    expect(only({ ...app, refreshToken: 'r', refreshTokenFile: '/run/secrets/r' })).toEqual([
      'credentials.refreshTokenFile: give refreshToken or refreshTokenFile, not both',
    ]);
    expect(only({ ...app, refreshTokenFile: '/nonexistent/outlook-refresh' })).toEqual([
      'credentials.refreshTokenFile: cannot read secret file /nonexistent/outlook-refresh (ENOENT)',
    ]);
    expect(only({ ...app, refreshToken: '' })).toEqual(['credentials.refreshToken: must not be empty']);
    expect(only({ ...app, refreshToken: 'r', scope: 'Mail.Read' })[0]).toMatch(
      /^credentials: Unrecognized key: "scope"/,
    );
  });
});

describe('outlook normalize', () => {
  it('a message becomes outlook.message keyed by id and changeKey; @removed becomes outlook.removed', () => {
    const [message] = fixture('delta-page').value;
    const [removed, changed] = fixture('delta-last-page').value;
    if (!message || !removed || !changed) throw new Error('fixture');
    expect(normalizeOutlookItem(message)).toEqual({
      type: 'outlook.message',
      key: 'AAMkADNkNAAAgWkAAA=|CQAAABYAAADe6dWmJvG0RKkRq8ZhXuhZAAAkqMmy',
      subject: 'AAQkADNkNTTjNe9uLk0=',
      time: '2026-11-21T10:00:02Z',
      payload: message,
      message: {
        id: 'AAMkADNkNAAAgWkAAA=',
        conversation: 'AAQkADNkNTTjNe9uLk0=',
        sender: 'adele@fabrikam.com',
        text: 'Hello, could you send us a quote for 40 licences before Friday?',
        subject: 'Quote for 40 licences',
      },
    });
    // Without changeKey the etag's value is the version: the read change is a new key.
    expect(normalizeOutlookItem(changed)?.key).toBe(
      'AAMkADNkNAAAgWkAAA=|CQAAABYAAADe6dWmJvG0RKkRq8ZhXuhZAAAkqMn0',
    );
    expect(normalizeOutlookItem(removed)).toEqual({
      type: 'outlook.removed',
      key: 'AAMkADNkNAAAgWjAAA=|removed',
      payload: removed,
    });
    expect(normalizeOutlookItem({})).toBeUndefined();
  });
});

describe('outlook delta links', () => {
  it('starts with a receivedDateTime filter and moves links onto graphUrl', () => {
    const account = outlook.accounts.parse([{ ...exampleAccount, graphUrl: 'http://127.0.0.1:9/v1.0/' }])[0];
    if (!account) throw new Error('account');
    expect(deltaStart(account, new Date('2026-11-21T10:00:00.123Z'))).toBe(
      'http://127.0.0.1:9/v1.0/users/sales%40contoso.com/mailFolders/inbox/messages/delta?$filter=receivedDateTime%20ge%202026-11-21T10%3A00%3A00Z',
    );
    const link =
      'https://graph.microsoft.com/v1.0/users/sales%40contoso.com/mailFolders/inbox/messages/delta?$deltatoken=abc';
    expect(ontoGraphUrl(link, 'http://127.0.0.1:9/v1.0')).toBe(
      'http://127.0.0.1:9/v1.0/users/sales%40contoso.com/mailFolders/inbox/messages/delta?$deltatoken=abc',
    );
    expect(ontoGraphUrl(link, 'https://graph.microsoft.com/v1.0')).toBe(link);
  });
});
