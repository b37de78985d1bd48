import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RelayError } from '../errors.js';
import { oauthError, pkcePair, postForm, randomState } from './oauth.js';

export const googleAuthUrl = 'https://accounts.google.com/o/oauth2/v2/auth';
export const googleTokenUrl = 'https://oauth2.googleapis.com/token';
export const gmailReadonlyScope = 'https://www.googleapis.com/auth/gmail.readonly';

export interface GoogleConsentOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scope?: string;
  readonly authUrl?: string;
  readonly tokenUrl?: string;
  /** How long to wait for the browser to come back. Default 5 minutes. */
  readonly timeoutMs?: number;
  /** Called with the URL the person must open. */
  onAuthorizationUrl(url: string): void;
}

const page = (text: string) => `<!doctype html><meta charset="utf-8"><title>relay auth</title><p>${text}</p>`;

/** Waits for one redirect carrying our `state`; other requests (favicon, a stale tab) do not end the wait. */
function awaitRedirect(server: Server, state: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new RelayError('auth_timeout', 'no answer from the browser in time: run relay auth google again'),
        ),
      timeoutMs,
    );
    server.on('request', (req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (req.method !== 'GET' || url.pathname !== '/') {
        res.writeHead(404).end();
        return;
      }
      res.setHeader('content-type', 'text/html; charset=utf-8');
      if (url.searchParams.get('state') !== state) {
        res.writeHead(400).end(page('This is not the sign-in this relay started (state mismatch).'));
        return;
      }
      const error = url.searchParams.get('error');
      const code = url.searchParams.get('code');
      clearTimeout(timer);
      if (error || !code) {
        res.writeHead(400).end(page('Sign-in did not complete. You can close this tab.'));
        reject(
          new RelayError(
            'auth_denied',
            `Google did not grant access (${error ?? 'no code'}): run relay auth google again and allow access`,
          ),
        );
        return;
      }
      res.writeHead(200).end(page('Relay received the authorization. You can close this tab.'));
      resolve(code);
    });
  });
}

/**
 * Installed-app OAuth with a loopback redirect and PKCE: a one-shot listener on 127.0.0.1 (an IP
 * literal, not `localhost`, per RFC 8252 section 8.3), the consent URL for the person to open, then
 * the code exchanged with its verifier. `access_type=offline` and `prompt=consent` make Google
 * return a refresh token even when the user consented before.
 * https://developers.google.com/identity/protocols/oauth2/native-app
 */
export async function googleConsent(
  options: GoogleConsentOptions,
): Promise<{ refreshToken: string; scope: string }> {
  const { verifier, challenge } = pkcePair();
  const state = randomState();
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    const url = new URL(options.authUrl ?? googleAuthUrl);
    for (const [key, value] of Object.entries({
      client_id: options.clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: options.scope ?? gmailReadonlyScope,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      access_type: 'offline',
      prompt: 'consent',
    }))
      url.searchParams.set(key, value);
    const codePromise = awaitRedirect(server, state, options.timeoutMs ?? 5 * 60_000);
    options.onAuthorizationUrl(url.href);
    const code = await codePromise;
    const { status, body } = await postForm(options.tokenUrl ?? googleTokenUrl, {
      code,
      client_id: options.clientId,
      client_secret: options.clientSecret,
      redirect_uri: redirectUri,
      grant_type: 'authorization_code',
      code_verifier: verifier,
    });
    if (status !== 200 || body.error)
      throw new RelayError(
        'auth_refused',
        `Google refused the code exchange: ${oauthError(body, status)}; check --client-id and --client-secret (a Desktop app client)`,
      );
    if (!body.refresh_token)
      throw new RelayError(
        'auth_no_refresh',
        'Google returned no refresh token: remove the app at https://myaccount.google.com/permissions and run relay auth google again',
      );
    return { refreshToken: body.refresh_token, scope: body.scope ?? options.scope ?? gmailReadonlyScope };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
