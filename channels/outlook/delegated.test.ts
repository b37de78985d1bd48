import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { mailReadScope } from '../../src/auth/microsoft.js';
import { CredentialError, RetryLaterError } from '../../src/errors.js';
import { oauthRefusal, startFakeGraph } from '../../test/fakes/graph-mail.js';
import { startFakeOAuthServer } from '../../test/fakes/oauth-token-server.js';
import { runCli } from '../../test/ops-cli-harness.js';
import { mailboxTestBed } from '../../test/support/mailbox-suite.js';
import { writeConfig } from '../../test/support/process.js';
import { redisUrl, startTestRelay, type TestRelay, uniquePrefix } from '../../test/support/relay.js';
import { until } from '../../test/support/until.js';
import { outlookAccount } from './config.js';
import { delegatedScope, GraphToken } from './credentials.js';
import { deltaStart, getPage } from './graph.js';
import { parsePosition } from './poll.js';
import { probeOutlook } from './probe.js';

/**
 * Delegated access: the refresh token `relay auth microsoft` prints, redeemed by the refresh token
 * grant against the Graph fake, which rotates it on every use and refuses the one it replaced.
 */

const bed = mailboxTestBed(startFakeGraph);

const delegated = (overrides: Record<string, unknown> = {}) => ({
  tenantId: bed.fake.client.tenantId,
  clientId: bed.fake.delegated.clientId,
  refreshToken: bed.fake.delegated.refreshToken,
  authorityUrl: bed.fake.authorityUrl,
  ...overrides,
});

const account = (credentials: Record<string, unknown>, overrides: Record<string, unknown> = {}) => ({
  account: 'sales',
  user: 'sales@contoso.com',
  pollSeconds: 0.2,
  graphUrl: bed.fake.url,
  credentials,
  ...overrides,
});

async function start(
  credentials: Record<string, unknown>,
  overrides: Record<string, unknown> = {},
  prefix?: string,
): Promise<TestRelay> {
  const t = await startTestRelay(
    { channels: { outlook: [account(credentials, overrides)] } },
    { leaseTtlMs: 1500, ...(prefix ? { prefix } : {}) },
  );
  bed.relays.push(t);
  return t;
}

const graphToken = (credentials: Record<string, unknown>) =>
  new GraphToken(outlookAccount.parse(account(credentials)).credentials, bed.fake.url, 'sales');

const signal = () => AbortSignal.timeout(5000);
const cursorOf = async (t: TestRelay) =>
  parsePosition((await bed.redis.hget(`${t.prefix}:relay:cursors`, 'outlook:sales:poll')) ?? undefined);
const hasJob = (t: TestRelay, id: string) => async () =>
  (await t.jobs()).some((e) => (e.data.payload as { id?: string }).id === id) || undefined;
const presented = () => bed.fake.callsOf('token').map((c) => c.form?.get('refresh_token'));

/** Runs `relay auth microsoft` (device code flow against a local authorization server) for the fake's app. */
async function authMicrosoft(extra: string[] = []) {
  const oauth = await startFakeOAuthServer({ clientId: bed.fake.delegated.clientId, intervalSec: 1 });
  try {
    const out = await runCli([
      'auth',
      'microsoft',
      '--tenant',
      bed.fake.client.tenantId,
      '--client-id',
      bed.fake.delegated.clientId,
      '--device-code-url',
      `${oauth.url}/devicecode`,
      '--token-url',
      `${oauth.url}/token`,
      ...extra,
    ]);
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    // The YAML block exactly as printed, from its `# channels.outlook[].credentials` line on.
    const snippet = out.stdout.slice(out.stdout.indexOf('# channels.outlook[].credentials'));
    const { credentials } = parseYaml(snippet) as { credentials: Record<string, unknown> };
    // The device flow signed the user in: that refresh token is the one the identity platform knows.
    bed.fake.delegated.refreshToken = oauth.refreshToken;
    return { credentials, refreshToken: oauth.refreshToken, stdout: out.stdout };
  } finally {
    await oauth.close();
  }
}

describe('relay auth microsoft → channels.outlook[].credentials', () => {
  it('the printed snippet is accepted as is, and the relay reads mail with it (then doctor sees the loop)', async () => {
    const { credentials, refreshToken } = await authMicrosoft();
    expect(credentials).toEqual({
      tenantId: bed.fake.client.tenantId,
      clientId: bed.fake.delegated.clientId,
      refreshToken,
    });
    // authorityUrl is the one addition: the fake stands in for login.microsoftonline.com.
    const prefix = uniquePrefix('outlook-delegated');
    const t = await start({ ...credentials, authorityUrl: bed.fake.authorityUrl }, {}, prefix);
    await until(() => cursorOf(t));
    const m = bed.fake.addMessage();
    await until(hasJob(t, m.id));

    const [first] = bed.fake.callsOf('token');
    expect(Object.fromEntries(first?.form ?? [])).toEqual({
      client_id: bed.fake.delegated.clientId,
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      scope: `${new URL(bed.fake.url).origin}/Mail.Read offline_access`,
    });
    // A public client presents no secret (the fake refuses one with AADSTS700025).
    expect(first?.form?.has('client_secret')).toBe(false);
    const logs = t.logs.join('\n');
    expect(logs).not.toContain(refreshToken);
    expect(logs).not.toContain(bed.fake.delegated.refreshToken);

    const out = await runCli([
      'doctor',
      '--config',
      writeConfig({
        redis: { url: redisUrl, prefix },
        channels: { outlook: [account({ ...credentials, authorityUrl: bed.fake.authorityUrl })] },
      }),
    ]);
    expect(out.stdout).toMatch(/^ok +config: .* is valid \(1 accounts\)$/m);
    expect(out.stdout).toMatch(
      new RegExp(`^ok +loop outlook/sales poll: held by ${t.relay.loops.holder}`, 'm'),
    );
    expect(out.stdout).not.toContain(refreshToken);
  });

  it('--write: refreshTokenFile is read; relay check prints no token, check --online reads the folder', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'relay-outlook-')), 'outlook-refresh');
    const { credentials, refreshToken, stdout } = await authMicrosoft(['--write', file]);
    expect(stdout).not.toContain(refreshToken);
    expect(credentials).toEqual({
      tenantId: bed.fake.client.tenantId,
      clientId: bed.fake.delegated.clientId,
      refreshTokenFile: file,
    });
    const config = writeConfig({
      channels: { outlook: [account({ ...credentials, authorityUrl: bed.fake.authorityUrl })] },
    });
    const offline = await runCli(['check', '--config', config]);
    expect(offline.status).toBe(0);
    expect(offline.stdout).toContain('outlook sales: ok');
    expect(bed.fake.callsOf('token')).toHaveLength(0);
    bed.fake.addMessage();
    const online = await runCli(['check', '--config', config, '--online']);
    expect(online.stderr).toBe('');
    expect(online.status).toBe(0);
    expect(online.stdout).toContain('outlook sales: ok\n  online: ok: folder Inbox readable (1 messages)');
    expect(presented()).toEqual([refreshToken]);
    for (const out of [offline, online]) expect(out.stdout + out.stderr).not.toContain(refreshToken);
  });

  it('asks for the scope relay auth microsoft consents to, on the Graph host of graphUrl', () => {
    expect(delegatedScope('https://graph.microsoft.com/v1.0')).toBe(mailReadScope);
    expect(delegatedScope('https://graph.microsoft.us/v1.0')).toBe(
      'https://graph.microsoft.us/Mail.Read offline_access',
    );
  });
});

describe('outlook delegated access: the refresh token grant', () => {
  it('each renewal redeems the refresh token the previous one returned; the configured one is then refused', async () => {
    // Access tokens live 1 s: renewed every half second (half their life, as the real hour is renewed 5 min early).
    bed.fake.tokenLifetimeSec = 1;
    const configured = bed.fake.delegated.refreshToken;
    const stale = graphToken(delegated());
    const t = await start(delegated());
    await until(() => cursorOf(t));
    await until(() => bed.fake.callsOf('token').length >= 4 || undefined);
    const m = bed.fake.addMessage();
    await until(hasJob(t, m.id));
    await t.close();
    bed.relays.length = 0;

    const used = presented();
    expect(used[0]).toBe(configured);
    // Every call succeeded, and each presented the token the one before it received.
    expect(bed.fake.refreshTokens).toHaveLength(used.length);
    expect(used.slice(1)).toEqual(bed.fake.refreshTokens.slice(0, -1));
    expect(new Set(used).size).toBe(used.length);
    const logs = t.logs.join('\n');
    for (const token of [configured, ...bed.fake.refreshTokens]) expect(logs).not.toContain(token);

    // Negative: redeeming a rotated-away token again is refused (what a client that kept the old one would get).
    const refused = await stale.get(signal()).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(CredentialError);
    expect((refused as Error).message).toMatch(
      /the token endpoint refused the refresh token \(invalid_grant: AADSTS9002313: .*\); re-consent needed: run relay auth microsoft --tenant \S+ --client-id \S+ and update refreshToken$/,
    );
    expect((refused as Error).message).not.toContain(configured);
  });

  it('a 401 from Graph drops the access token and renews once, with the newest refresh token', async () => {
    const parsed = outlookAccount.parse(account(delegated()));
    const token = new GraphToken(parsed.credentials, parsed.graphUrl, parsed.account);
    const configured = bed.fake.delegated.refreshToken;
    bed.fake.failNext('delta', {
      status: 401,
      body: {
        error: {
          code: 'InvalidAuthenticationToken',
          message: 'Access token has expired or is not yet valid.',
        },
      },
    });
    const page = await getPage(deltaStart(parsed, new Date()), token, parsed, signal());
    expect(page['@odata.deltaLink']).toBeDefined();
    expect(presented()).toEqual([configured, bed.fake.refreshTokens[0]]);
    const [refusedCall, retried] = bed.fake.callsOf('delta');
    expect(retried?.authorization).not.toBe(refusedCall?.authorization);
  });

  it('invalid_grant: the loop reports re-consent needed, naming relay auth microsoft, slowly, and never logs the token', async () => {
    bed.fake.delegated.refuse =
      'AADSTS700082: The refresh token has expired due to inactivity. The token was issued on 2026-05-01T10:00:00Z and was inactive for 90.00:00:00.';
    const configured = bed.fake.delegated.refreshToken;
    const t = await start(delegated());
    const problem = await until(() => t.relay.loops.statuses[0]?.problem);
    expect(problem).toBe(
      `re-consent needed for outlook account "sales": [outlook] account "sales": the token endpoint refused the refresh token (invalid_grant: AADSTS700082: The refresh token has expired due to inactivity. The token was issued on 2026-05-01T10:00:00Z and was inactive for 90.00:00:00.); re-consent needed: run relay auth microsoft --tenant ${bed.fake.client.tenantId} --client-id ${bed.fake.delegated.clientId} and update refreshToken`,
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(bed.fake.callsOf('token')).toHaveLength(1);
    expect(bed.fake.callsOf('delta')).toHaveLength(0);
    expect(t.logs.join('\n')).toContain('re-consent needed for outlook account');
    expect(t.logs.join('\n')).not.toContain(configured);
  });

  it('refuses a wrong refresh token, a wrong client id, and a wrong or needless client secret, never echoing them', async () => {
    const refusal = async (credentials: Record<string, unknown>) => {
      const err = (await graphToken(credentials)
        .get(signal())
        .catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(CredentialError);
      for (const secret of [credentials.refreshToken, credentials.clientSecret])
        if (typeof secret === 'string') expect(err.message).not.toContain(secret);
      return err.message;
    };
    expect(await refusal(delegated({ refreshToken: '0.AXEA-not-the-one-issued' }))).toMatch(
      /refused the refresh token \(invalid_grant: AADSTS9002313: .*\); re-consent needed: run relay auth microsoft/,
    );
    expect(await refusal(delegated({ clientId: '00000000-0000-0000-0000-000000000000' }))).toMatch(
      /refused the refresh token \(unauthorized_client: AADSTS700016: .*\); re-consent needed/,
    );
    // The device code flow's app is a public client: a secret must not be sent.
    expect(await refusal(delegated({ clientSecret: 'not-for-a-public-client' }))).toMatch(
      /refused the client \(invalid_client: AADSTS700025: .*\); check clientSecret \(a public client, .* leave it out\)$/,
    );
    bed.fake.delegated.clientSecret = 'confidential-web-app-secret';
    expect(await refusal(delegated())).toMatch(/invalid_client: AADSTS7000215/);
    expect(await refusal(delegated({ clientSecret: 'wrong-web-app-secret' }))).toMatch(
      /invalid_client: AADSTS7000215/,
    );
    // No token was handed out by any of these.
    expect(bed.fake.refreshTokens).toHaveLength(0);

    // A confidential client presents its secret and is served.
    expect(
      await graphToken(delegated({ clientSecret: 'confidential-web-app-secret' })).get(signal()),
    ).toMatch(/^eyJ/);
    expect(bed.fake.callsOf('token').at(-1)?.form?.get('client_secret')).toBe('confidential-web-app-secret');
  });

  it('429 waits Retry-After, 5xx retries; the refresh token is kept for the next try', async () => {
    const configured = bed.fake.delegated.refreshToken;
    const token = graphToken(delegated());
    bed.fake.failNext('token', {
      ...oauthRefusal(
        429,
        'temporarily_unavailable',
        'AADSTS50196: The server terminated an operation because it encountered a client request loop.',
      ),
      headers: { 'retry-after': '7' },
    });
    const throttled = await token.get(signal()).catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(RetryLaterError);
    expect((throttled as RetryLaterError).retryAfterMs).toBe(7000);
    expect((throttled as Error).message).toMatch(
      /token endpoint throttled \(temporarily_unavailable: AADSTS50196/,
    );

    bed.fake.failNext(
      'token',
      oauthRefusal(503, 'temporarily_unavailable', 'AADSTS90033: A transient error has occurred.'),
    );
    const unavailable = await token.get(signal()).catch((e: unknown) => e);
    expect(unavailable).toBeInstanceOf(Error);
    expect(unavailable).not.toBeInstanceOf(CredentialError);
    expect(unavailable).not.toBeInstanceOf(RetryLaterError);
    expect((unavailable as Error).message).toMatch(
      /token endpoint answered temporarily_unavailable: AADSTS90033/,
    );

    expect(await token.get(signal())).toMatch(/^eyJ/);
    expect(presented()).toEqual([configured, configured, configured]);
  });

  it('a refresh token echoed in an error description is cut out of the message', async () => {
    const configured = bed.fake.delegated.refreshToken;
    bed.fake.failNext(
      'token',
      oauthRefusal(
        400,
        'invalid_grant',
        `AADSTS70000: The provided value '${configured}' for 'refresh_token' is not valid.`,
      ),
    );
    const err = (await graphToken(delegated())
      .get(signal())
      .catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(CredentialError);
    expect(err.message).toContain("The provided value '[redacted]' for 'refresh_token'");
    expect(err.message).not.toContain(configured);
  });

  it("a delegated token reads the signed-in user's mailbox only: Graph's 403 says what to grant", async () => {
    const t = await start(delegated(), { user: 'ceo@contoso.com' });
    const problem = await until(() => t.relay.loops.statuses[0]?.problem);
    expect(problem).toMatch(
      /Graph denied access to ceo@contoso\.com \(403 ErrorAccessDenied: .*\); the signed-in user \(relay auth microsoft\) must own the mailbox, or have access to a shared one with Mail\.Read\.Shared consented$/,
    );
  });
});

describe('outlook probe with delegated credentials', () => {
  const probe = (credentials: Record<string, unknown>, user = 'sales@contoso.com') =>
    probeOutlook(outlookAccount.parse(account(credentials, { user })), signal());

  it('ok for the signed-in user’s folder; a foreign mailbox and a refused refresh token are problems without the token', async () => {
    bed.fake.addMessage();
    bed.fake.addMessage();
    expect(await probe(delegated())).toEqual({ status: 'ok', message: 'folder Inbox readable (2 messages)' });

    const foreign = await probe(delegated(), 'ceo@contoso.com');
    expect(foreign.status).toBe('problem');
    expect(foreign.message).toMatch(
      /^Graph refused ceo@contoso\.com\/inbox \(ErrorAccessDenied\): the signed-in user/,
    );

    const configured = bed.fake.delegated.refreshToken;
    bed.fake.delegated.refuse = 'AADSTS50173: The provided grant has expired due to it being revoked.';
    const refused = await probe(delegated());
    expect(refused.status).toBe('problem');
    expect(refused.message).toMatch(
      /invalid_grant: AADSTS50173: .*re-consent needed: run relay auth microsoft/,
    );
    expect(refused.message).not.toContain(configured);
  });
});
