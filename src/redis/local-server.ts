import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RelayError } from '../errors.js';

export const defaultRedisUrl = 'redis://127.0.0.1:6379';

async function answers(url: string, timeoutMs: number): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export interface LocalRedis {
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * When nothing answers on the default URL, `relay start` runs `redis-server` from PATH as a child,
 * with its data and append-only file under `./.relay/redis` (contract section 1). Returns undefined
 * when Redis already answers; throws a one-line error when none can be had.
 */
export async function ensureLocalRedis(url: string, cwd: string): Promise<LocalRedis | undefined> {
  if (await answers(url, 1000)) return undefined;
  const hint =
    'start one with "docker compose up -d redis", or install your OS package (e.g. apt-get install redis-server)';
  if (url !== defaultRedisUrl)
    throw new RelayError('redis_unreachable', `no Redis answers at ${url}: ${hint}`);
  if (spawnSync('redis-server', ['--version']).error) {
    throw new RelayError(
      'redis_unreachable',
      `no Redis answers at ${url} and redis-server is not on PATH: ${hint}`,
    );
  }
  const dir = join(cwd, '.relay', 'redis');
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    'redis-server',
    [
      '--port',
      '6379',
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      'noeviction',
      '--save',
      '',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 50; i++) {
    if (child.exitCode !== null) break;
    if (await answers(url, 200)) {
      return {
        process: child,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new RelayError(
    'redis_unreachable',
    `redis-server did not start on ${url} (data dir ${dir}): ${hint}`,
  );
}
