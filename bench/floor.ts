/**
 * The floor: the least any webhook relay must do per request, with nothing else.
 * Bare `node:http`, read the body, the same HMAC-SHA256 check the relay does (hex digest with a
 * prefix, in `X-Signature-256`, compared in constant time), one Redis `XADD` per request through
 * ioredis with auto-pipelining, then 202. No router, no logging, no metrics, no envelope.
 *
 * Usage: node dist/bench/floor.js [--port N] [--redis URL] [--stream KEY]
 *   env: PORT, REDIS_URL, FLOOR_STREAM, FLOOR_SECRET (default "bench-secret"),
 *        FLOOR_HEADER (default x-signature-256), FLOOR_PREFIX (default "sha256=")
 * Prints one JSON line `{"msg":"floor ready","url":"http://127.0.0.1:PORT",...}` when listening.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    redis: { type: 'string' },
    stream: { type: 'string' },
  },
  strict: true,
});

const port = Number(values.port ?? process.env.PORT ?? 0);
const redisUrl = values.redis ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const stream = values.stream ?? process.env.FLOOR_STREAM ?? 'bench-floor:stream';
const secret = process.env.FLOOR_SECRET ?? 'bench-secret';
const headerName = (process.env.FLOOR_HEADER ?? 'x-signature-256').toLowerCase();
const prefix = process.env.FLOOR_PREFIX ?? 'sha256=';
const bodyLimit = 1024 * 1024;

if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`floor: bad port ${String(values.port ?? process.env.PORT)}\n`);
  process.exit(2);
}

const redis = new Redis(redisUrl, {
  enableAutoPipelining: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout: 2000,
  lazyConnect: true,
});
redis.on('error', () => {});

function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function verify(signature: string | string[] | undefined, body: Buffer): boolean {
  if (typeof signature !== 'string') return false;
  const provided = Buffer.from(signature);
  const expected = Buffer.from(prefix + createHmac('sha256', secret).update(body).digest('hex'));
  return expected.length === provided.length && timingSafeEqual(expected, provided);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'POST') {
    answer(res, 405, '{"error":"method not allowed"}');
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size > bodyLimit) {
      refused = true;
      res.setHeader('connection', 'close');
      answer(res, 413, '{"error":"body too large"}');
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (refused) return;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
    if (!verify(req.headers[headerName], body)) {
      answer(res, 401, '{"error":"bad signature"}');
      return;
    }
    redis.xadd(stream, '*', 'body', body).then(
      (id) => answer(res, 202, `{"ids":["${id ?? ''}"]}`),
      () => answer(res, 503, '{"error":"temporarily unavailable, retry later"}'),
    );
  });
  req.on('error', () => {
    if (!res.headersSent) answer(res, 400, '{"error":"bad body"}');
  });
}

const server = createServer(handle);
server.keepAliveTimeout = 65_000;

async function main(): Promise<void> {
  await redis.connect();
  await redis.ping();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  process.stdout.write(
    `${JSON.stringify({ msg: 'floor ready', url: `http://127.0.0.1:${bound}`, port: bound, stream })}\n`,
  );
}

function stop(): void {
  server.close();
  server.closeAllConnections();
  redis.quit().then(
    () => process.exit(0),
    () => process.exit(0),
  );
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

main().catch((err: unknown) => {
  process.stderr.write(`floor: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
