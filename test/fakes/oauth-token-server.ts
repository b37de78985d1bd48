import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OAuth 2.0 authorization server on port 0, enough of Google's and Microsoft's to test
 * the relay's flows against: `/authorize` (authorization code with PKCE S256, redirecting to the
 * loopback URI), `/devicecode` (RFC 8628), and `/token` for the authorization_code,
 * device_code and client_credentials grants. Every request is recorded.
 */
export interface TokenRequest {
  readonly path: string;
  readonly form: Record<string, string>;
  readonly at: number;
}

export interface FakeOAuthServer {
  readonly url: string;
  readonly requests: TokenRequest[];
  /** Answers to device_code polls, in order; the poll after the last one succeeds. */
  devicePolls: string[];
  readonly refreshToken: string;
  close(): Promise<void>;
}

export interface FakeOAuthOptions {
  readonly clientId: string;
  /** Confidential clients (Google desktop, client credentials); device flow clients have none. */
  readonly clientSecret?: string;
  readonly intervalSec?: number;
  readonly expiresInSec?: number;
}

async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

export async function startFakeOAuthServer(options: FakeOAuthOptions): Promise<FakeOAuthServer> {
  const requests: TokenRequest[] = [];
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  const refreshToken = `1//fake-refresh-${randomBytes(12).toString('hex')}`;
  const state: FakeOAuthServer = {
    url: '',
    requests,
    devicePolls: [],
    refreshToken,
    close: async () => {},
  };
  const deviceCode = `device-${randomBytes(8).toString('hex')}`;

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/authorize') {
      const q = url.searchParams;
      if (q.get('client_id') !== options.clientId || q.get('code_challenge_method') !== 'S256')
        return json(400, { error: 'invalid_request' });
      const code = `code-${randomBytes(8).toString('hex')}`;
      codes.set(code, { challenge: q.get('code_challenge') ?? '', redirectUri: q.get('redirect_uri') ?? '' });
      const back = new URL(q.get('redirect_uri') ?? '');
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (req.method !== 'POST') return json(404, { error: 'not_found' });
    const form = await readForm(req);
    requests.push({ path: url.pathname, form, at: Date.now() });
    if (form.client_id !== options.clientId)
      return json(400, {
        error: 'unauthorized_client',
        error_description: 'AADSTS700016: Application not found.',
      });

    if (url.pathname === '/devicecode') {
      return json(200, {
        device_code: deviceCode,
        user_code: 'FAKE-CODE',
        verification_uri: 'https://microsoft.com/devicelogin',
        expires_in: options.expiresInSec ?? 900,
        interval: options.intervalSec ?? 1,
        message:
          'To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FAKE-CODE to authenticate.',
      });
    }
    if (url.pathname !== '/token') return json(404, { error: 'not_found' });
    switch (form.grant_type) {
      case 'authorization_code': {
        const issued = form.code ? codes.get(form.code) : undefined;
        if (!issued || form.client_secret !== options.clientSecret)
          return json(400, { error: 'invalid_grant' });
        const challenge = createHash('sha256')
          .update(form.code_verifier ?? '')
          .digest('base64url');
        if (challenge !== issued.challenge || form.redirect_uri !== issued.redirectUri)
          return json(400, {
            error: 'invalid_grant',
            error_description: 'code_verifier or redirect_uri mismatch',
          });
        codes.delete(form.code ?? '');
        return json(200, {
          access_token: 'ya29.fake',
          expires_in: 3599,
          refresh_token: refreshToken,
          scope: 'https://www.googleapis.com/auth/gmail.readonly',
          token_type: 'Bearer',
        });
      }
      case 'urn:ietf:params:oauth:grant-type:device_code': {
        if (form.device_code !== deviceCode) return json(400, { error: 'bad_verification_code' });
        const next = state.devicePolls.shift();
        if (next)
          return json(400, { error: next, error_description: `AADSTS70016: ${next}\r\nTrace ID: 0000` });
        return json(200, {
          access_token: 'eyJ.fake',
          expires_in: 3599,
          refresh_token: refreshToken,
          scope: 'Mail.Read',
          token_type: 'Bearer',
        });
      }
      case 'client_credentials':
        if (form.client_secret !== options.clientSecret)
          return json(401, {
            error: 'invalid_client',
            error_description: 'AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1111',
          });
        return json(200, { access_token: 'eyJ.app', expires_in: 3599, token_type: 'Bearer' });
      default:
        return json(400, { error: 'unsupported_grant_type' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
