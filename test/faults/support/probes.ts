import { createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { trigger, triggerPath } from './load.js';

/** One hostile request: through node:http, or raw bytes on a socket (what node:http refuses to send). */
export type Probe =
  | {
      readonly kind: 'http';
      readonly label: string;
      readonly method: string;
      readonly path: string;
      readonly headers: Record<string, string>;
      readonly body: Buffer;
      /** Correctly signed with a parseable body: a 2xx is allowed (and must then be a job). */
      readonly mayAccept?: boolean;
    }
  | { readonly kind: 'raw'; readonly label: string; readonly bytes: Buffer; readonly end: boolean };

/** mulberry32: the same hostile mix on every run, so a failure can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sign = (body: Buffer) => createHmac('sha256', trigger.secret).update(body).digest('hex');
const json = { 'content-type': 'application/json' };

function randomBytes(rand: () => number, max: number): Buffer {
  const out = Buffer.alloc(Math.floor(rand() * max));
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

const http = (
  label: string,
  body: Buffer | string,
  headers: Record<string, string> = json,
  extra: { method?: string; path?: string; signed?: boolean; mayAccept?: boolean } = {},
): Probe => {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return {
    kind: 'http',
    label,
    method: extra.method ?? 'POST',
    path: extra.path ?? triggerPath,
    headers: extra.signed ? { ...headers, 'x-signature-256': sign(b) } : headers,
    body: b,
    ...(extra.mayAccept ? { mayAccept: true } : {}),
  };
};

const raw = (label: string, text: string | Buffer, end = true): Probe => ({
  kind: 'raw',
  label,
  bytes: Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1'),
  end,
});

const paths = [
  '/webhook/load/unknown',
  '/webhook/load',
  '/webhook/',
  '/',
  '/webhook/load/in/',
  '/webhook/load/in/extra/segments',
  '//webhook//load//in',
  '/webhook/%2e%2e/%2e%2e/etc/passwd',
  '/webhook/%ff%fe/in',
  '/webhook/%/in',
  '/webhook/%00/in',
  '/webhook/__proto__/constructor',
  '/webhook/constructor/prototype',
  '/webhook/load/__proto__',
  '/webhook/load/in;jsessionid=1',
  `/webhook/load/in?${'q'.repeat(6000)}=1`,
  `/webhook/${'a'.repeat(8000)}/in`,
  '/admin/events',
  '/metrics',
  '/webhook/load/in?__proto__[x]=1&constructor[prototype][x]=1',
];
const methods = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'SEARCH', 'MKCOL', 'PURGE'];
const encodings = ['gzip', 'br', 'deflate, gzip', 'x-garbage', 'identity, gzip', ''];
const types = [
  'text/xml',
  'multipart/form-data; boundary=',
  'application/json; charset=latin1',
  ';;;',
  'application/x-www-form-urlencoded',
  'text/plain; charset=utf-16',
  'application/json, application/json',
];
const truncated = '{"n":1,"nested":{"a":[1,2,3],"b":"str';
const proto = '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"n":"proto"}';

/** Valid JSON, correctly signed, nested deeper than JSON.stringify's recursion can go. */
export const deepNesting = (depth: number): Probe =>
  http('deep nesting, signed', '['.repeat(depth) + ']'.repeat(depth), json, {
    signed: true,
    mayAccept: true,
  });

/** The i-th probe of the mix: every kind comes round about once per 24 probes. */
export function probe(i: number, rand: () => number): Probe {
  switch (i % 24) {
    case 0:
      return http('random bytes, unsigned', randomBytes(rand, 4096), {
        'content-type': 'application/octet-stream',
      });
    case 1:
      return http('random bytes, bad signature', randomBytes(rand, 4096), {
        ...json,
        'x-signature-256': 'ab'.repeat(32),
      });
    case 2:
      return http('truncated JSON, signed', truncated.slice(0, Math.floor(rand() * truncated.length)), json, {
        signed: true,
      });
    case 3:
      return http('__proto__ keys, unsigned', proto);
    case 4:
      return http('__proto__ keys, signed', proto, json, { signed: true, mayAccept: true });
    case 5:
      return http(
        'invalid UTF-8, signed',
        Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]),
        json,
        { signed: true, mayAccept: true },
      );
    case 6:
      return http('invalid UTF-8 outside strings, signed', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), json, {
        signed: true,
      });
    case 7:
      return http(
        'huge numbers and strings, signed',
        `{"big":1e999999,"neg":-1e999999,"s":"${'\\u0000'.repeat(5000)}"}`,
        json,
        { signed: true, mayAccept: true },
      );
    case 8:
      return http(
        'wrong content type, signed',
        '{"n":"type"}',
        { 'content-type': types[i % types.length] ?? '' },
        { signed: true, mayAccept: true },
      );
    case 9:
      return http('no content type, signed', '{"n":"none"}', {}, { signed: true, mayAccept: true });
    case 10: {
      const encoding = encodings[i % encodings.length] ?? '';
      const body = encoding === 'gzip' ? gzipSync('{"n":"gz"}') : Buffer.from('{"n":"enc"}');
      return http(
        'content-encoding, signed',
        body,
        { ...json, 'content-encoding': encoding },
        { signed: true, mayAccept: encoding === '' },
      );
    }
    case 11:
      return http('unknown method', '{}', json, { method: methods[i % methods.length] ?? 'GET' });
    case 12:
      return http('odd path', '{}', json, { path: paths[i % paths.length] ?? '/' });
    case 13:
      return http('oversized body, signed', Buffer.alloc(1_200_000, 0x61), json, { signed: true });
    case 14:
      return http(
        'form with __proto__, signed',
        '__proto__[polluted]=1&constructor[prototype][polluted]=1&a=%zz',
        { 'content-type': 'application/x-www-form-urlencoded' },
        { signed: true, mayAccept: true },
      );
    case 15:
      return raw('random bytes on a socket', randomBytes(rand, 2048));
    case 16:
      return raw('huge path', `GET /webhook/${'p'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    case 17:
      return raw(
        'smuggling: CL and TE',
        `POST ${triggerPath} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin/events HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
    case 18:
      return raw(
        'duplicate content-length',
        `POST ${triggerPath} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}`,
      );
    case 19:
      return raw(
        'bad chunk size',
        `POST ${triggerPath} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      );
    case 20:
      return raw(
        'body shorter than content-length, then EOF',
        `POST ${triggerPath} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{"n":`,
      );
    case 21:
      return raw(
        'control bytes in headers',
        `POST ${triggerPath} HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\nX-B\r\n\r\n`,
      );
    case 22:
      return raw(
        'too many headers',
        `GET / HTTP/1.1\r\n${Array.from({ length: 3000 }, (_, k) => `X-${k}: v\r\n`).join('')}\r\n`,
      );
    default:
      return raw('HTTP/0.9 and a bare method', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nGET\r\n\r\n');
  }
}
