import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { Queue } from 'bullmq';
import express from 'express';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { ListenHub } from '../src/http/admin-listen.js';
import { redisUrl, uniquePrefix } from './support/relay.js';
import { readSse } from './support/sse.js';
import { until } from './support/until.js';

/**
 * `/admin/listen`'s stream machinery (src/http/admin-listen.ts, src/queue/live-feed.ts) on its own
 * HTTP server, with short stall and heartbeat times: slow clients, many listeners, trimmed streams.
 * The relay-level behaviour (auth, filters, resume, the CLI) is in listen.test.ts.
 */
const redis = new Redis(redisUrl);
afterAll(async () => {
  await redis.quit();
});

/** A ListenHub over `queues` on a fresh prefix, served on port 0. */
async function startHub(
  label: string,
  queues: string[],
  options: { heartbeatMs?: number; stallMs?: number } = {},
) {
  const prefix = uniquePrefix(label);
  const hub = new ListenHub({
    redis: parseConfig({ redis: { url: redisUrl, prefix } }, {}).redis,
    queueNames: queues,
    now: Date.now,
    ...options,
  });
  const server = createServer(express().get('/listen', hub.handle));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    hub,
    prefix,
    port: (server.address() as AddressInfo).port,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/listen`,
    async close() {
      hub.close();
      await new Promise((r) => server.close(r));
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
    },
  };
}

describe('a slow client', () => {
  it('is cut once its buffer stays full, instead of the relay holding what it cannot take', async () => {
    const t = await startHub('listen-slow', ['slow'], { heartbeatMs: 200, stallMs: 500 });
    const queue = new Queue('slow', { connection: { url: redisUrl }, prefix: t.prefix });
    const socket = connect(t.port, '127.0.0.1');
    try {
      socket.on('error', () => {});
      socket.write('GET /listen HTTP/1.1\r\nhost: x\r\n\r\n');
      socket.pause(); // never reads: the kernel buffers fill, then the server's
      await until(() => t.hub.listeners === 1, 5000, 'listener open');
      const big = 'x'.repeat(256 * 1024);
      await queue.addBulk(
        Array.from({ length: 40 }, (_, i) => ({ name: 'slow.test', data: { id: `slow-${i}`, big } })),
      );
      await until(() => t.hub.listeners === 0, 15_000, 'the stalled listener cut');
    } finally {
      socket.destroy();
      await queue.obliterate({ force: true });
      await queue.close();
      await t.close();
    }
  });
});

describe('several listeners', () => {
  it('share one reader once caught up, and each gets every event', async () => {
    const t = await startHub('listen-many', ['many', 'more']);
    const queues = ['many', 'more'].map(
      (name) => new Queue(name, { connection: { url: redisUrl }, prefix: t.prefix }),
    );
    const streams = Array.from({ length: 5 }, () => new AbortController());
    try {
      const bodies = await Promise.all(
        streams.map(
          async (aborted) =>
            (await fetch(t.url, { signal: aborted.signal })).body as ReadableStream<Uint8Array>,
        ),
      );
      await until(() => t.hub.live === 5, 5000, 'all five on the shared feed');
      for (let i = 0; i < 10; i += 1)
        await queues[i % 2]?.add('many.test', {
          id: `many-${i}`,
          channel: 'c',
          account: 'a',
          type: 'many.test',
        });
      const seen = await Promise.all(
        bodies.map((body) => readSse(body, (text) => (text.match(/\ndata: /g) ?? []).length >= 10)),
      );
      for (const text of seen)
        expect([...text.matchAll(/"id":"(many-\d+)"/g)].map((m) => m[1]).sort()).toEqual(
          Array.from({ length: 10 }, (_, i) => `many-${i}`).sort(),
        );
      expect(t.hub.live).toBe(5);
    } finally {
      for (const s of streams) s.abort();
      for (const q of queues) {
        await q.obliterate({ force: true });
        await q.close();
      }
      await t.close();
    }
  });
});

describe('a resume point the stream no longer reaches', () => {
  it('is announced as an `event: gap` with the oldest position still there', async () => {
    const t = await startHub('listen-gap', ['gap']);
    const key = `${t.prefix}:gap:events`;
    const open = async (from: string) => {
      const aborted = new AbortController();
      const res = await fetch(t.url, { headers: { 'last-event-id': `gap@${from}` }, signal: aborted.signal });
      const text = await readSse(res.body as ReadableStream<Uint8Array>, (seen) => seen.includes('\n\n'));
      aborted.abort();
      return text;
    };
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1)
        ids.push((await redis.xadd(key, '*', 'event', 'waiting', 'jobId', `j${i}`)) as string);
      expect(await open(ids[0] as string)).not.toContain('event: gap');
      await redis.xtrim(key, 'MAXLEN', 2);
      expect(await open(ids[0] as string)).toContain(
        `event: gap\ndata: {"queue":"gap","from":"${ids[0]}","oldest":"${ids[3]}"}`,
      );
      // Still in the stream: no warning.
      expect(await open(ids[3] as string)).not.toContain('event: gap');
    } finally {
      await t.close();
    }
  });
});
