import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOAuthServer, startFakeOAuthServer } from './fakes/oauth-token-server.js';
import { type FakeSlackApi, startFakeSlackApi } from './fakes/slack-web-api.js';
import { type FakeBotApi, startFakeBotApi } from './fakes/telegram-bot-api.js';
import { runCli } from './ops-cli-harness.js';
import { writeConfig } from './support/process.js';

/** `relay check --online` as a process, against local fakes of each provider's auth test. */
const goodBot = '123456:good-bot-token';
const wrongBot = '654321:revoked-bot-token';
const goodApp = 'xapp-1-A0001-good-app-token';
const revokedApp = 'xapp-1-A0001-revoked-app-token';
const secrets = [goodBot, wrongBot, goodApp, revokedApp, 'check-signing-secret', 'check-telegram-secret'];

let telegram: FakeBotApi;
let slack: FakeSlackApi;

beforeAll(async () => {
  telegram = await startFakeBotApi(goodBot);
  slack = await startFakeSlackApi({ valid: [goodApp], revoked: [revokedApp] });
});
afterAll(async () => {
  await telegram?.close();
  await slack?.close();
});

const tg = (account: string, botToken: string) => ({
  account,
  botToken,
  secretToken: 'check-telegram-secret',
  apiRoot: telegram.url,
});
const sl = (account: string, appToken?: string) => ({
  account,
  signingSecret: 'check-signing-secret',
  apiUrl: slack.url,
  ...(appToken ? { appToken } : {}),
});

describe('relay check --online', () => {
  it('prints one verdict per account, says how to fix a refused one, and exits 1', async () => {
    const config = writeConfig({
      channels: {
        telegram: [tg('support', goodBot), tg('legacy', wrongBot)],
        slack: [sl('acme', goodApp), sl('old', revokedApp), sl('http', undefined)],
        whatsapp: [{ account: 'main', appSecret: 'check-app-secret', verifyToken: 'check-verify' }],
      },
    });
    const out = await runCli(['check', '--config', config, '--online']);
    expect(out.status).toBe(1);
    const lineAfter = (account: string) => {
      const lines = out.stdout.split('\n');
      return lines[lines.findIndex((l) => l.startsWith(account)) + 1] ?? '';
    };
    expect(lineAfter('telegram support:')).toBe('  online: ok: bot @relay_test_bot (id 123456)');
    expect(lineAfter('telegram legacy:')).toMatch(/^ {2}online: problem: .*401 Unauthorized; check botToken/);
    expect(lineAfter('slack acme:')).toBe('  online: ok: appToken accepted (workspace Acme), app A0001');
    expect(lineAfter('slack old:')).toMatch(
      /^ {2}online: problem: Slack refused appToken \(token_revoked\): generate a new app-level token/,
    );
    expect(lineAfter('slack http:')).toBe(
      '  online: Events API over HTTP needs no outbound call (signingSecret is checked on every request)',
    );
    expect(lineAfter('whatsapp main:')).toBe('  online: no online check for whatsapp');
    expect(out.stderr).toContain('2 account(s) failed the online check');
    // One call per account with a probe, carrying the configured credential.
    expect(
      telegram
        .callsOf('getMe')
        .map((c) => c.token)
        .sort(),
    ).toEqual([goodBot, wrongBot].sort());
    expect(slack.calls.sort()).toEqual([`Bearer ${goodApp}`, `Bearer ${revokedApp}`].sort());
    for (const s of [...secrets, 'check-app-secret', 'check-verify'])
      expect(out.stdout + out.stderr).not.toContain(s);
  });

  it('exits 0 when every provider accepts, and makes no call without --online', async () => {
    const config = writeConfig({
      channels: { telegram: [tg('support', goodBot)], slack: [sl('acme', goodApp)] },
    });
    const before = slack.calls.length;
    const offline = await runCli(['check', '--config', config]);
    expect(offline.status).toBe(0);
    expect(offline.stdout).not.toContain('online:');
    expect(slack.calls.length).toBe(before);
    const online = await runCli(['check', '--config', config, '--online']);
    expect(online.status).toBe(0);
    expect(online.stdout).toContain('online: ok: bot @relay_test_bot');
  });

  it('names the provider it cannot reach', async () => {
    const config = writeConfig({
      channels: { slack: [{ ...sl('acme', goodApp), apiUrl: 'http://127.0.0.1:1/api/' }] },
    });
    const out = await runCli(['check', '--config', config, '--online']);
    expect(out.status).toBe(1);
    expect(out.stdout).toContain('online: problem: Slack Web API at http://127.0.0.1:1 unreachable');
  });
});

describe('relay check --online for Teams: a client-credentials token request', () => {
  let oauth: FakeOAuthServer;
  beforeAll(async () => {
    oauth = await startFakeOAuthServer({ clientId: 'teams-app', clientSecret: 'teams-secret' });
  });
  afterAll(async () => {
    await oauth?.close();
  });

  const teams = (account: string, credentials: Record<string, string>) => ({
    account,
    clientState: 'check-client-state',
    credentials,
  });
  const client = (clientSecret: string) => ({
    tenantId: 'contoso.onmicrosoft.com',
    clientId: 'teams-app',
    clientSecret,
    tokenUrl: `${oauth.url}/token`,
  });

  it('is ok when a token is issued for Graph, says a stale secret must be replaced, skips a static token', async () => {
    const config = writeConfig({
      channels: {
        teams: [
          teams('contoso', client('teams-secret')),
          teams('fabrikam', client('stale-teams-secret')),
          teams('manual', { accessToken: 'static-access-token' }),
        ],
      },
    });
    const out = await runCli(['check', '--config', config, '--online']);
    expect(out.status).toBe(1);
    expect(out.stdout).toContain(
      'teams contoso: ok\n  online: ok: client credentials accepted by tenant contoso.onmicrosoft.com',
    );
    expect(out.stdout).toMatch(/teams fabrikam: ok\n {2}online: problem: clientSecret is wrong or expired/);
    expect(out.stdout).toContain('teams manual: ok\n  online: static accessToken: nothing to exchange');
    expect(oauth.requests.map((r) => r.form)).toContainEqual(
      expect.objectContaining({
        grant_type: 'client_credentials',
        client_id: 'teams-app',
        scope: 'https://graph.microsoft.com/.default',
      }),
    );
    for (const secret of ['teams-secret', 'stale-teams-secret', 'static-access-token', 'check-client-state'])
      expect(out.stdout + out.stderr).not.toContain(secret);
  });
});
