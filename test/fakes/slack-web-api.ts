import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Slack's Web API `auth.test` (`POST {apiUrl}auth.test`, bearer token), on
 * port 0. Known tokens answer ok; revoked ones `token_revoked`; anything else `invalid_auth`,
 * the way Slack answers: HTTP 200 with `ok: false`. https://api.slack.com/methods/auth.test
 */
export interface FakeSlackApi {
  /** Use as the account's `apiUrl`. */
  readonly url: string;
  /** Authorization headers seen, in order. */
  readonly calls: string[];
  close(): Promise<void>;
}

export async function startFakeSlackApi(tokens: {
  valid: string[];
  revoked?: string[];
}): Promise<FakeSlackApi> {
  const calls: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    res.setHeader('content-type', 'application/json; charset=utf-8');
    if (req.method !== 'POST' || req.url !== '/api/auth.test') {
      res.end(JSON.stringify({ ok: false, error: 'unknown_method' }));
      return;
    }
    const auth = req.headers.authorization ?? '';
    calls.push(auth);
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    if (!token) return res.end(JSON.stringify({ ok: false, error: 'not_authed' }));
    if (tokens.revoked?.includes(token))
      return res.end(JSON.stringify({ ok: false, error: 'token_revoked' }));
    if (!tokens.valid.includes(token)) return res.end(JSON.stringify({ ok: false, error: 'invalid_auth' }));
    res.end(
      JSON.stringify({
        ok: true,
        url: 'https://acme.slack.com/',
        team: 'Acme',
        team_id: 'T0001',
        app_id: 'A0001',
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
