import { createSign, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type JWTPayload, SignJWT } from 'jose';

/**
 * Google's signing keys, served locally: the x509 map (kid → PEM certificate) that
 * `https://www.googleapis.com/service_accounts/v1/metadata/x509/chat@system.gserviceaccount.com` and
 * `https://www.googleapis.com/oauth2/v1/certs` publish, and the same keys as a JWKS. Keys are made
 * by each test run: node cannot issue X.509 certificates, so a minimal self-signed one is written
 * in DER here (no key is committed anywhere).
 */
export interface TestKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly certPem: string;
}

const derLength = (n: number): number[] =>
  n < 0x80
    ? [n]
    : n < 0x100
      ? [0x81, n]
      : n < 0x10000
        ? [0x82, n >> 8, n & 0xff]
        : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag, ...derLength(body.length)]), body]);
};
const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);
const hex = (h: string) => Buffer.from(h, 'hex');

const sha256WithRsa = seq(hex('06092a864886f70d01010b'), hex('0500'));
const commonName = (cn: string) => seq(tlv(0x31, seq(hex('0603550403'), tlv(0x0c, Buffer.from(cn)))));
const utcTime = (d: Date) => tlv(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`));

function selfSignedCert(privateKey: KeyObject, publicKey: KeyObject, cn: string): string {
  const serial = randomBytes(8);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const now = Date.now();
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, serial),
    sha256WithRsa,
    commonName(cn),
    seq(utcTime(new Date(now - 86_400_000)), utcTime(new Date(now + 30 * 86_400_000))),
    commonName(cn),
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = createSign('sha256').update(tbs).sign(privateKey);
  const der = seq(tbs, sha256WithRsa, tlv(0x03, Buffer.from([0]), signature));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

export function testKey(kid = randomBytes(20).toString('hex')): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey, certPem: selfSignedCert(privateKey, publicKey, 'relay test key') };
}

export interface GoogleCertsServer {
  /** The kid → PEM map, as Google's x509 endpoints serve it. */
  readonly x509Url: string;
  readonly jwksUrl: string;
  /** Requests served so far (to see caching and refetch on an unknown kid). */
  readonly requests: number;
  publish(...keys: TestKey[]): void;
  /** Answer every request with this status from now on; undefined serves the keys again. */
  failWith(status: number | undefined): void;
  close(): Promise<void>;
}

export async function startGoogleCerts(...initial: TestKey[]): Promise<GoogleCertsServer> {
  const keys = new Map(initial.map((k) => [k.kid, k]));
  let failing: number | undefined;
  let requests = 0;
  const server = createServer((req, res) => {
    requests += 1;
    if (failing !== undefined) {
      res.writeHead(failing).end();
      return;
    }
    let body: unknown;
    if (req.url === '/x509') body = Object.fromEntries([...keys.values()].map((k) => [k.kid, k.certPem]));
    else if (req.url === '/jwks') {
      body = {
        keys: [...keys.values()].map((k) => ({
          ...k.publicKey.export({ format: 'jwk' }),
          kid: k.kid,
          alg: 'RS256',
          use: 'sig',
        })),
      };
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'public, max-age=19800',
    });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    x509Url: `${base}/x509`,
    jwksUrl: `${base}/jwks`,
    get requests() {
      return requests;
    },
    publish: (...more) => {
      for (const k of more) keys.set(k.kid, k);
    },
    failWith: (status) => {
      failing = status;
    },
    close: () =>
      new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

export interface SignOptions {
  readonly nowMs: number;
  readonly expiresInSec?: number;
  /** Sign with this private key while naming `key.kid` (a forged token). */
  readonly privateKey?: KeyObject;
  readonly alg?: string;
}

/** A JWT as Google would sign it: RS256, the key's kid, iat and exp around `nowMs`. */
export async function signGoogleJwt(key: TestKey, claims: JWTPayload, options: SignOptions): Promise<string> {
  const iat = Math.floor(options.nowMs / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: key.kid, typ: 'JWT' })
    .setIssuedAt(iat)
    .setExpirationTime(iat + (options.expiresInSec ?? 3600))
    .sign(options.privateKey ?? key.privateKey);
}
