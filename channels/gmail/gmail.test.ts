import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CredentialError, RetryLaterError } from '../../src/errors.js';
import { gmailError } from './credentials.js';
import { exampleAccount } from './fixtures/config.js';
import { gmail } from './index.js';
import type { GmailMessage } from './mailbox.js';
import { isDraft, normalizeGmailMessage } from './normalize.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as GmailMessage;
const parse = (raw: unknown) => gmail.accounts.safeParse([raw]);
const issues = (raw: unknown) => {
  const r = parse(raw);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.slice(1).join('.')}: ${i.message}`);
};

describe('gmail config', () => {
  it('accepts the three credential kinds, with defaults', () => {
    const r = parse(exampleAccount);
    expect(r.success && r.data[0]).toMatchObject({
      user: 'me',
      format: 'metadata',
      apiRoot: 'https://gmail.googleapis.com',
      credentials: { kind: 'refresh', tokenUrl: 'https://oauth2.googleapis.com/token' },
    });
    expect(issues({ account: 'a', credentials: { accessToken: 'ya29.token' } })).toEqual([]);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const file = join(mkdtempSync(join(tmpdir(), 'relay-gmail-')), 'sa.json');
    const key = {
      type: 'service_account',
      client_email: 'sa@p.iam.gserviceaccount.com',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    };
    writeFileSync(file, JSON.stringify(key));
    const sa = parse({ account: 'a', credentials: { serviceAccountFile: file, subject: 'u@example.com' } });
    expect(sa.success && sa.data[0]?.credentials).toMatchObject({
      kind: 'serviceAccount',
      clientEmail: 'sa@p.iam.gserviceaccount.com',
      tokenUrl: 'https://oauth2.googleapis.com/token',
    });
  });

  it('reports every problem at its path', () => {
    expect(issues({ account: 'a', credentials: { clientId: 'c' } })).toEqual([
      'credentials.clientSecret: required (or clientSecretFile)',
      'credentials.refreshToken: required (or refreshTokenFile)',
    ]);
    expect(issues({ account: 'a', credentials: { accessToken: 't', refreshToken: 'r' } })[0]).toMatch(
      /^credentials.accessToken: give one of/,
    );
    expect(issues({ account: 'a', credentials: { serviceAccountFile: '/nonexistent/sa.json' } })).toEqual([
      'credentials.subject: required with serviceAccountFile (the mailbox to act as)',
      'credentials.serviceAccountFile: cannot read service account key /nonexistent/sa.json (ENOENT)',
    ]);
    expect(issues({ ...exampleAccount, pollSeconds: 0 })[0]).toMatch(/^pollSeconds: /);
    expect(issues({ ...exampleAccount, backfillHours: -1 })[0]).toMatch(/^backfillHours: /);
    expect(issues({ ...exampleAccount, format: 'raw' })[0]).toMatch(/^format: /);
  });
});

describe('gmail normalize', () => {
  it('a metadata message becomes gmail.message keyed by the message id', () => {
    const m = fixture('message-metadata');
    expect(normalizeGmailMessage(m)).toEqual({
      type: 'gmail.message',
      key: '18c9a3f2e1b4d5a6',
      subject: '18c9a3f2e1b4d5a6',
      time: '2026-11-21T10:00:00.000Z',
      payload: m,
      message: {
        id: '18c9a3f2e1b4d5a6',
        conversation: '18c9a3f2e1b4d5a6',
        sender: 'Jane Doe <jane.doe@example.org>',
        text: 'Hi team, my order #4411 arrived damaged. Could you send a replacement?',
        subject: 'Damaged order #4411',
      },
    });
  });

  it('reads headers case-insensitively from a full message, and knows drafts', () => {
    const full = normalizeGmailMessage(fixture('message-full'));
    expect(full.message).toMatchObject({
      sender: '"Acme Support" <support@example.com>',
      subject: 'Re: Damaged order #4411',
    });
    expect(full.subject).toBe('18c9a3f2e1b4d5a6');
    expect(isDraft(fixture('draft'))).toBe(true);
    expect(isDraft(fixture('message-full'))).toBe(false);
    expect(normalizeGmailMessage({}).key).toBeUndefined();
  });
});

describe('gmail errors', () => {
  const failure = (status: number, data: unknown, headers: Record<string, string> = {}) => ({
    status,
    response: { status, data, headers: new Headers(headers) },
  });

  it('maps rate limits to RetryLaterError (Retry-After honoured) and refusals to CredentialError', () => {
    const limited = gmailError(failure(429, fixture('error-rate-limit'), { 'retry-after': '7' }), 'a');
    expect(limited).toBeInstanceOf(RetryLaterError);
    expect((limited as RetryLaterError).retryAfterMs).toBe(7000);
    const quota = gmailError(failure(403, { error: { errors: [{ reason: 'userRateLimitExceeded' }] } }), 'a');
    expect(quota).toBeInstanceOf(RetryLaterError);
    expect(
      gmailError(
        failure(400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' }),
        'a',
      ),
    ).toBeInstanceOf(CredentialError);
    expect(gmailError(failure(401, { error: { message: 'Invalid Credentials' } }), 'a')).toBeInstanceOf(
      CredentialError,
    );
    expect(
      gmailError(failure(403, { error: { errors: [{ reason: 'insufficientPermissions' }] } }), 'a'),
    ).toBeInstanceOf(CredentialError);
    const other = gmailError(failure(500, fixture('error-404')), 'a');
    expect(other).not.toBeInstanceOf(CredentialError);
    expect(other).not.toBeInstanceOf(RetryLaterError);
  });
});
