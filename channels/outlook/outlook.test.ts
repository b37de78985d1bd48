import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
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
