import { readFileSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { microsoftDeviceFlow } from '../src/auth/microsoft.js';
import { type FakeOAuthServer, startFakeOAuthServer } from './fakes/oauth-token-server.js';
import { runCli, startCli } from './ops-cli-harness.js';

/** `relay auth google|microsoft` as processes against a local fake authorization server. */

describe('relay auth google (loopback redirect + PKCE)', () => {
  let oauth: FakeOAuthServer;
  beforeAll(async () => {
    oauth = await startFakeOAuthServer({ clientId: 'desktop-client', clientSecret: 'desktop-secret' });
  });
  afterAll(async () => {
    await oauth?.close();
  });

  const start = (extra: string[] = []) =>
    startCli([
      'auth',
      'google',
      '--client-id',
      'desktop-client',
      '--client-secret',
      'desktop-secret',
      '--auth-url',
      `${oauth.url}/authorize`,
      '--token-url',
      `${oauth.url}/token`,
      ...extra,
    ]);

  /** The person's browser: open the printed URL, follow the redirect back to the relay's listener. */
  async function playBrowser(stdout: string): Promise<{ authorize: URL; landing: Response }> {
    const line = stdout.split('\n').find((l) => l.startsWith(`${oauth.url}/authorize?`)) ?? '';
    const authorize = new URL(line);
    const consent = await fetch(authorize, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const landing = await fetch(consent.headers.get('location') ?? '');
    return { authorize, landing };
  }

  it('asks for gmail.readonly offline with S256, takes the redirect on 127.0.0.1, prints the snippet', async () => {
    const cli = start();
    const { authorize, landing } = await playBrowser(await cli.waitForOutput(`${oauth.url}/authorize?`));
    const q = authorize.searchParams;
    expect(q.get('scope')).toBe('https://www.googleapis.com/auth/gmail.readonly');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('access_type')).toBe('offline');
    expect(q.get('prompt')).toBe('consent');
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(q.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(landing.status).toBe(200);
    const out = await cli.done;
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    expect(out.stdout).toContain(`  refreshToken: ${oauth.refreshToken}`);
    expect(out.stdout).toContain('  clientId: desktop-client');
    expect(out.stdout).not.toContain('desktop-secret');
    // The exchange proved possession of the verifier (the fake checks it against the challenge).
    expect(oauth.requests.at(-1)?.form).toMatchObject({ grant_type: 'authorization_code' });
    expect(oauth.requests.at(-1)?.form.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('writes the token to a 0600 file and never prints it', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'relay-auth-')), 'gmail-refresh');
    const cli = start(['--write', file]);
    await playBrowser(await cli.waitForOutput(`${oauth.url}/authorize?`));
    const out = await cli.done;
    expect(out.status).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(`${oauth.refreshToken}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(out.stdout).toContain(`refreshTokenFile: ${file}`);
    expect(out.stdout).not.toContain(oauth.refreshToken);
  });

  it('ignores a redirect with the wrong state, and fails in one line when access is denied', async () => {
    const cli = start();
    const stdout = await cli.waitForOutput(`${oauth.url}/authorize?`);
    const authorize = new URL(stdout.split('\n').find((l) => l.startsWith(oauth.url)) ?? '');
    const redirect = authorize.searchParams.get('redirect_uri') ?? '';
    const forged = await fetch(`${redirect}?code=stolen&state=not-ours`);
    expect(forged.status).toBe(400);
    const denied = await fetch(
      `${redirect}?error=access_denied&state=${authorize.searchParams.get('state')}`,
    );
    expect(denied.status).toBe(400);
    const out = await cli.done;
    expect(out.status).toBe(1);
    expect(out.stderr).toBe(
      'relay: Google did not grant access (access_denied): run relay auth google again and allow access\n',
    );
  });
});

describe('relay auth microsoft (device code)', () => {
  let oauth: FakeOAuthServer;
  beforeAll(async () => {
    oauth = await startFakeOAuthServer({ clientId: 'public-client', intervalSec: 1 });
  });
  afterAll(async () => {
    await oauth?.close();
  });

  const flow = (secondMs: number) =>
    microsoftDeviceFlow({
      tenant: 'contoso.onmicrosoft.com',
      clientId: 'public-client',
      deviceCodeUrl: `${oauth.url}/devicecode`,
      tokenUrl: `${oauth.url}/token`,
      onPrompt: () => {},
      secondMs,
    });

  it('shows the code, polls while pending, and prints the snippet (as a process)', async () => {
    oauth.devicePolls = ['authorization_pending'];
    const out = await runCli([
      'auth',
      'microsoft',
      '--tenant',
      'contoso.onmicrosoft.com',
      '--client-id',
      'public-client',
      '--device-code-url',
      `${oauth.url}/devicecode`,
      '--token-url',
      `${oauth.url}/token`,
    ]);
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('enter the code FAKE-CODE');
    expect(out.stdout).toContain(`  refreshToken: ${oauth.refreshToken}`);
    expect(out.stdout).toContain('  tenantId: contoso.onmicrosoft.com');
    const device = oauth.requests.find((r) => r.path === '/devicecode');
    expect(device?.form.scope).toBe('https://graph.microsoft.com/Mail.Read offline_access');
    const polls = oauth.requests.filter((r) => r.path === '/token');
    expect(polls.map((p) => p.form.grant_type)).toEqual([
      'urn:ietf:params:oauth:grant-type:device_code',
      'urn:ietf:params:oauth:grant-type:device_code',
    ]);
    // Polled no faster than the interval (1 s).
    expect((polls[1]?.at ?? 0) - (polls[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
  });

  it('adds 5 seconds to the interval on slow_down, for good', async () => {
    oauth.requests.length = 0;
    oauth.devicePolls = ['slow_down', 'authorization_pending'];
    // One "second" is 20 ms here: interval 1 → 6 after slow_down.
    const result = await flow(20);
    expect(result.refreshToken).toBe(oauth.refreshToken);
    const at = oauth.requests.filter((r) => r.path === '/token').map((r) => r.at);
    expect(at).toHaveLength(3);
    expect((at[2] ?? 0) - (at[1] ?? 0)).toBeGreaterThanOrEqual(6 * 20 - 5);
  });

  it('stops on expired_token and on a declined sign-in, saying what to do', async () => {
    oauth.devicePolls = ['authorization_pending', 'expired_token'];
    await expect(flow(5)).rejects.toThrow(
      'the code expired before sign-in finished: run relay auth microsoft again',
    );
    oauth.devicePolls = ['authorization_declined'];
    await expect(flow(5)).rejects.toThrow('sign-in was declined');
  });

  it('explains a refused client id in one line', async () => {
    const out = await runCli([
      'auth',
      'microsoft',
      '--tenant',
      'contoso',
      '--client-id',
      'unknown-app',
      '--device-code-url',
      `${oauth.url}/devicecode`,
      '--token-url',
      `${oauth.url}/token`,
    ]);
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(
      /^relay: Microsoft refused the device code request: unauthorized_client \(AADSTS700016: Application not found\.\); check --tenant and --client-id/,
    );
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
  });
});
