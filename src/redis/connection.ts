import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RelayConfig } from '../config/schema.js';

export type RedisClient = Redis | Cluster;

/**
 * - `producer`: fails fast. No offline queue, one try, 2 s per command: with Redis gone or slow the
 *   request is answered 503 at once instead of waiting on a queue nobody will drain.
 * - `control`: admin API, CLI, leases; also fails fast, a little more patient.
 * - `blocking`: workers and QueueEvents; BullMQ wants `maxRetriesPerRequest: null` there.
 */
export type RedisRole = 'producer' | 'control' | 'blocking';

export const enqueueTimeoutMs = 2000;

function roleOptions(role: RedisRole): RedisOptions {
  const reconnect = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000);
  switch (role) {
    case 'producer':
      return {
        enableOfflineQueue: false,
        // Auto-pipelining measured -42% Redis CPU per job (docs/performance.md) but breaks under load
        // here: ioredis's auto-pipeline callbacks fall out of step ("results[i] is not iterable",
        // ioredis#1931) with BullMQ's scripts and the command timeout. Correctness first.
        enableAutoPipelining: false,
        maxRetriesPerRequest: 0,
        commandTimeout: enqueueTimeoutMs,
        connectTimeout: enqueueTimeoutMs,
        retryStrategy: reconnect,
      };
    case 'control':
      return {
        enableOfflineQueue: true,
        maxRetriesPerRequest: 1,
        connectTimeout: 3000,
        commandTimeout: 5000,
        retryStrategy: reconnect,
      };
    case 'blocking':
      return { maxRetriesPerRequest: null, retryStrategy: reconnect };
  }
}

export function createRedis(
  config: RelayConfig['redis'],
  role: RedisRole,
  connectionName = `relay-${role}`,
): RedisClient {
  const options: RedisOptions = { ...roleOptions(role), connectionName };
  if (config.cluster) {
    return new Cluster(config.cluster, {
      redisOptions: options,
      enableOfflineQueue: options.enableOfflineQueue ?? true,
      clusterRetryStrategy: options.retryStrategy ?? null,
    } as ConstructorParameters<typeof Cluster>[1]);
  }
  if (config.sentinels)
    return new Redis({ ...options, sentinels: config.sentinels, name: config.name ?? 'mymaster' });
  return new Redis(config.url, options);
}

/** Resolves once the client is connected, or rejects with the connection error after `timeoutMs`. */
export function waitForReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const onError = (err: Error) => {
      lastError = err;
    };
    const done = (err?: Error) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const timer = setTimeout(
      () => done(lastError ?? new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.on('ready', onReady);
    client.on('error', onError);
  });
}

/** BullMQ needs Redis 5 and recommends 6.2; checked once at start (queues skip BullMQ's own lazy check). */
export async function checkRedisVersion(client: RedisClient): Promise<{ version: string; warning?: string }> {
  const info = await client.info('server');
  const version = /redis_version:([\d.]+)/.exec(info)?.[1] ?? '0';
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < 5)
    throw new Error(`Redis ${version} is too old: BullMQ needs 5.0 or later (6.2 or later recommended)`);
  if (major < 6 || (major === 6 && minor < 2))
    return { version, warning: `Redis ${version}: 6.2 or later is recommended for BullMQ` };
  return { version };
}
