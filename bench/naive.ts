/**
 * The naive relay: what a user writes instead of Relay, for the comparison users would make.
 * express with `express.raw` (raw-body underneath), the same HMAC-SHA256 check in constant time,
 * the parsed body and headers as one BullMQ `Queue.add` with default options, then 202. No
 * dedupe, no envelope, no logging, no metrics, no rate limits.
 *
 * env: PORT, REDIS_URL, NAIVE_PREFIX, NAIVE_QUEUE, FLOOR_SECRET, FLOOR_HEADER, FLOOR_PREFIX
 * Prints one JSON line `{"msg":"naive ready",...}` when listening.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import express from 'express';
import { Redis } from 'ioredis';

const env = process.env;
const secret = env.FLOOR_SECRET ?? 'bench-secret';
const headerName = (env.FLOOR_HEADER ?? 'x-signature-256').toLowerCase();
const prefix = env.FLOOR_PREFIX ?? 'sha256=';

const connection = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
connection.on('error', () => {});
const queue = new Queue(env.NAIVE_QUEUE ?? 'naive', { connection, prefix: env.NAIVE_PREFIX ?? 'bull' });

const app = express();
app.post('/webhook/:group/:trigger', express.raw({ type: '*/*', limit: '1mb' }), async (req, res) => {
  const body = req.body as Buffer;
  const provided = Buffer.from(String(req.headers[headerName] ?? ''));
  const expected = Buffer.from(prefix + createHmac('sha256', secret).update(body).digest('hex'));
  if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) {
    res.status(401).json({ error: 'bad signature' });
    return;
  }
  try {
    const job = await queue.add('webhook', {
      headers: req.headers,
      payload: JSON.parse(body.toString('utf8')),
    });
    res.status(202).json({ ids: [job.id] });
  } catch {
    res.status(503).json({ error: 'unavailable' });
  }
});

const server: Server = app.listen(Number(env.PORT ?? 0), '127.0.0.1', () => {
  const port = (server.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ msg: 'naive ready', url: `http://127.0.0.1:${port}`, port })}\n`);
});
server.keepAliveTimeout = 65_000;

function stop(): void {
  server.close();
  server.closeAllConnections();
  queue.close().finally(() => {
    connection.disconnect();
    process.exit(0);
  });
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
