import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

/**
 * A local stand-in for Microsoft's key endpoints, on port 0:
 * - `GET /botframework/openidconfiguration` → `{ issuer, jwks_uri }` like login.botframework.com's
 * - `GET /botframework/keys` → the Bot Framework JWKS, each key with `endorsements`
 * - `GET /graph/keys` → the JWKS for Graph rich-notification validation tokens
 * Keys are generated here; tokens signed with them are what Microsoft would send.
 */
export interface FakeKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

export interface FakeMicrosoftKeys {
  readonly url: string;
  /** The metadata URL to configure as `openIdMetadataUrl`; `variant` makes a distinct URL (own cache in the relay). */
  openIdMetadataUrl(variant?: string): string;
  readonly graphJwksUrl: string;
  /** Requests served, by path. */
  readonly hits: Map<string, number>;
  readonly botKey: FakeKey;
  readonly graphKey: FakeKey;
  /** A key that is generated but not published (until `publishBotKey`). */
  newKey(kid: string): Promise<FakeKey>;
  publishBotKey(key: FakeKey, endorsements?: readonly string[]): void;
  /** Makes the endpoints answer this status (e.g. 500) until reset with undefined. */
  failWith(status: number | undefined): void;
  signBot(claims: JWTPayload, options?: SignOptions): Promise<string>;
  signGraph(claims: JWTPayload, options?: SignOptions): Promise<string>;
  close(): Promise<void>;
}

export interface SignOptions {
  readonly key?: FakeKey;
  readonly alg?: string;
  /** Seconds since the epoch for iat/nbf; exp is one hour later unless the claims set one. */
  readonly nowSec?: number;
}

async function makeKey(kid: string, alg = 'RS256'): Promise<FakeKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, use: 'sig' };
  return { kid, privateKey, jwk };
}

async function sign(claims: JWTPayload, fallback: FakeKey, options: SignOptions = {}): Promise<string> {
  const key = options.key ?? fallback;
  const nowSec = options.nowSec ?? Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: nowSec, nbf: nowSec, exp: nowSec + 3600, ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

export async function startFakeMicrosoftKeys(
  endorsements: readonly string[] = ['msteams', 'webchat'],
): Promise<FakeMicrosoftKeys> {
  const botKey = await makeKey('bot-key-1');
  const graphKey = await makeKey('graph-key-1');
  const botKeys: Array<JWK & { endorsements: string[] }> = [
    { ...botKey.jwk, endorsements: [...endorsements] },
  ];
  const hits = new Map<string, number>();
  let failing: number | undefined;
  let base = '';

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (failing !== undefined) return send(failing, { error: 'failing on purpose' });
    if (path === '/botframework/openidconfiguration') {
      return send(200, {
        issuer: 'https://api.botframework.com',
        jwks_uri: `${base}/botframework/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (path === '/botframework/keys') return send(200, { keys: botKeys });
    if (path === '/graph/keys') return send(200, { keys: [graphKey.jwk] });
    send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    openIdMetadataUrl: (variant) =>
      `${base}/botframework/openidconfiguration${variant ? `?v=${variant}` : ''}`,
    graphJwksUrl: `${base}/graph/keys`,
    hits,
    botKey,
    graphKey,
    newKey: (kid) => makeKey(kid),
    publishBotKey: (key, keyEndorsements = endorsements) => {
      botKeys.push({ ...key.jwk, endorsements: [...keyEndorsements] });
    },
    failWith: (status) => {
      failing = status;
    },
    signBot: (claims, options) => sign(claims, botKey, options),
    signGraph: (claims, options) => sign(claims, graphKey, options),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
