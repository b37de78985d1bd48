import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gmailAccount } from '../channels/gmail/config.js';
import { probeGmail } from '../channels/gmail/probe.js';
import { googleChatAccount } from '../channels/googlechat/config.js';
import { probeGoogleChat } from '../channels/googlechat/pubsub-probe.js';
import { outlookAccount } from '../channels/outlook/config.js';
import { probeOutlook } from '../channels/outlook/probe.js';
import { type FakeGmail, startFakeGmail } from './fakes/gmail-api.js';

/**
 * The `relay check --online` probes of the mailbox and Pub/Sub channels, each against a local
 * stand-in of the one call it makes: Gmail getProfile (the Gmail fake), Graph mailFolders/{folder}
 * and Pub/Sub subscriptions.get (a small server here that answers by bearer token).
 */
let gmail: FakeGmail;
let server: Server;
let base = '';
const goodToken = 'probe-good-token-0123456789';

beforeAll(async () => {
  gmail = await startFakeGmail();
  gmail.acceptedTokens.add(goodToken);
  server = createServer((req, res) => {
    const ok = req.headers.authorization === `Bearer ${goodToken}`;
    res.setHeader('content-type', 'application/json');
    if (!ok) {
      res.statusCode = 403;
      res.end(JSON.stringify({ error: { code: 'ErrorAccessDenied', message: 'Access is denied.' } }));
    } else if (req.url === '/v1.0/users/sales%40contoso.com/mailFolders/inbox') {
      res.end(JSON.stringify({ displayName: 'Inbox', totalItemCount: 12 }));
    } else if (req.url === '/v1/projects/p/subscriptions/chat-events') {
      res.end(
        JSON.stringify({ name: 'projects/p/subscriptions/chat-events', topic: 'projects/p/topics/chat' }),
      );
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ error: { code: 'NotFound', message: 'not found' } }));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await gmail.close();
  await new Promise((r) => server.close(r));
});

const signal = () => AbortSignal.timeout(5000);

describe('gmail probe: users.getProfile', () => {
  const account = (token: string) =>
    gmailAccount.parse({
      account: 'inbox',
      user: 'me',
      apiRoot: gmail.url,
      credentials: { accessToken: token },
    });
  it('ok with an accepted token, a problem that names the fix without the token otherwise', async () => {
    expect(await probeGmail(account(goodToken), signal())).toMatchObject({ status: 'ok' });
    const refused = await probeGmail(account('refused-token-abcdef'), signal());
    expect(refused.status).toBe('problem');
    expect(refused.message).not.toContain('refused-token-abcdef');
  });
});

describe('outlook probe: mailFolders/{folder}', () => {
  const account = (token: string, folder = 'inbox') =>
    outlookAccount.parse({
      account: 'sales',
      user: 'sales@contoso.com',
      folder,
      graphUrl: `${base}/v1.0`,
      credentials: { accessToken: token },
    });
  it('ok for a readable folder; permission and missing-folder problems say what to do', async () => {
    expect(await probeOutlook(account(goodToken), signal())).toEqual({
      status: 'ok',
      message: 'folder Inbox readable (12 messages)',
    });
    expect((await probeOutlook(account('no-mail-read-token'), signal())).message).toMatch(
      /Mail\.Read application permission/,
    );
    expect((await probeOutlook(account(goodToken, 'archive'), signal())).message).toMatch(
      /check user and folder/,
    );
  });
});

describe('google chat probe: subscriptions.get', () => {
  const account = (token: string, subscription?: string) =>
    googleChatAccount.parse({
      account: 'acme',
      audience: '123456789012',
      apiRoot: base,
      ...(subscription ? { subscription, credentials: { accessToken: token } } : {}),
    });
  it('ok for a visible subscription, none without one, and a role hint when refused', async () => {
    expect(
      await probeGoogleChat(account(goodToken, 'projects/p/subscriptions/chat-events'), signal()),
    ).toMatchObject({ status: 'ok' });
    expect((await probeGoogleChat(account(goodToken), signal())).status).toBe('none');
    expect(
      (await probeGoogleChat(account('wrong-token', 'projects/p/subscriptions/chat-events'), signal()))
        .message,
    ).toMatch(/roles\/pubsub\.subscriber/);
    expect(
      (await probeGoogleChat(account(goodToken, 'projects/p/subscriptions/gone'), signal())).message,
    ).toMatch(/no subscription/);
  });
});
