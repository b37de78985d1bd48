import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { AnyChannel } from '../../src/channel.js';
import { parseConfig } from '../../src/config/load.js';
import { collectSecrets } from '../../src/config/secret.js';
import { createLogger } from '../../src/log.js';
import type { RelayEvent } from '../../src/queue/envelope.js';
import { type RunningRelay, startRelay } from '../../src/relay.js';

export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A prefix no other test uses, so suites share one real Redis without seeing each other's keys. */
export const uniquePrefix = (label = 't') => `test-${label}-${randomUUID().slice(0, 8)}`;

export interface TestRelay {
  readonly relay: RunningRelay;
  readonly url: string;
  readonly opsUrl: string;
  readonly prefix: string;
  /** Every log line the relay wrote, as text. */
  readonly logs: string[];
  /** A BullMQ queue on the relay's prefix (default queue unless named), for assertions. */
  queue(name?: string): Queue<RelayEvent>;
  /** The jobs currently in a queue, any state. */
  jobs(name?: string): Promise<RelayEvent[]>;
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export interface TestRelayOptions {
  readonly now?: () => number;
  readonly channels?: readonly AnyChannel[];
  readonly env?: Record<string, string>;
  /** Share a prefix with another test relay (two replicas); default a fresh one. */
  readonly prefix?: string;
  readonly leaseTtlMs?: number;
}

/**
 * A real relay on loopback (ports 0), against the real Redis, with a fresh prefix. `rawConfig` is
 * what a relay.yaml would hold; server ports, host and redis prefix are filled in.
 */
export async function startTestRelay(
  rawConfig: Record<string, unknown>,
  options: TestRelayOptions = {},
): Promise<TestRelay> {
  const prefix = options.prefix ?? uniquePrefix();
  const raw = {
    ...rawConfig,
    server: { port: 0, opsPort: 0, host: '127.0.0.1', opsHost: '127.0.0.1', ...(rawConfig.server as object) },
    redis: { url: redisUrl, prefix, ...(rawConfig.redis as object) },
  };
  const config = parseConfig(raw, options.env ?? {});
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const log = createLogger({ secrets: collectSecrets(config), destination, level: 'debug' });
  const relay = await startRelay({
    config,
    log,
    ...(options.now ? { now: options.now } : {}),
    ...(options.channels ? { channels: options.channels } : {}),
    ...(options.leaseTtlMs ? { leaseTtlMs: options.leaseTtlMs } : {}),
  });
  const queues = new Map<string, Queue<RelayEvent>>();
  const connection = new Redis(config.redis.url, { maxRetriesPerRequest: null });
  connection.on('error', () => {});
  const queue = (name = config.queue.name) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue<RelayEvent>(name, { connection, prefix });
      queues.set(name, q);
    }
    return q;
  };
  return {
    relay,
    url: relay.publicUrl,
    opsUrl: relay.opsUrl,
    prefix,
    logs,
    queue,
    async jobs(name) {
      const jobs = await queue(name).getJobs([
        'waiting',
        'active',
        'completed',
        'failed',
        'delayed',
        'prioritized',
      ]);
      return jobs.filter(Boolean).map((j) => j.data);
    },
    post: (path, body, headers = {}) => fetch(relay.publicUrl + path, { method: 'POST', body, headers }),
    async close() {
      await relay.close();
      for (const q of queues.values()) await q.obliterate({ force: true }).catch(() => {});
      for (const q of queues.values()) await q.close();
      const keys = await connection.keys(`${prefix}:*`);
      if (keys.length > 0) await connection.del(...keys);
      await connection.quit();
    },
  };
}

/** The relay's `/readyz` warnings, one per line ('' when none). */
export const readyWarnings = async (t: TestRelay): Promise<string> =>
  (((await (await fetch(`${t.opsUrl}/readyz`)).json()) as { warnings?: string[] }).warnings ?? []).join('\n');
