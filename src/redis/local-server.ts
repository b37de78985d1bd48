import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Redis } from 'ioredis';
import { RelayError } from '../errors.js';
import { maskRedisUrl } from './url.js';

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

/** The redis-server `relay start` runs for development, and how to stop it. */
export interface LocalRedis {
  readonly pid: number;
  /** `.relay/redis`, relative to where the relay was started. */
  readonly dir: string;
  /** True when an earlier `relay start` had started it and this one reuses it. */
  readonly reused: boolean;
  /** One line for the operator: it keeps running, why, and how to stop it. */
  readonly keptRunning: string;
}

/** The pid in the pid file, when that process still runs. */
function runningPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/**
 * When nothing answers on the default URL, `relay start` runs `redis-server` from PATH, with its
 * data and append-only file under `./.relay/redis` (contract section 1). The server is detached:
 * Ctrl-C stops the relay, not the Redis holding its events, so `relay events list` still works
 * afterwards, and the next `relay start` finds it (its pid file) and uses it again.
 * Returns undefined when some other Redis answers; throws a one-line error when none can be had.
 * `defaultUrl` is the URL that counts as the default (tests give one on a free port).
 */
export async function ensureLocalRedis(
  url: string,
  cwd: string,
  defaultUrl = defaultRedisUrl,
): Promise<LocalRedis | undefined> {
  const dir = join(cwd, '.relay', 'redis');
  const shown = relative(cwd, dir) || dir;
  const pidFile = join(dir, 'redis.pid');
  const describe = (pid: number, reused: boolean): LocalRedis => ({
    pid,
    dir: shown,
    reused,
    keptRunning: `the local redis-server keeps running (pid ${pid}, data in ${shown}), so "npx relay events list" still works and the next start uses it; stop it with: kill ${pid}`,
  });
  if (await answers(url, 1000)) {
    const pid = url === defaultUrl ? runningPid(pidFile) : undefined;
    return pid === undefined ? undefined : describe(pid, true);
  }
  const hint =
    'start one with "docker compose up -d redis", or install your OS package (e.g. apt-get install redis-server)';
  const shownUrl = maskRedisUrl(url);
  if (url !== defaultUrl)
    throw new RelayError('redis_unreachable', `no Redis answers at ${shownUrl}: ${hint}`);
  if (spawnSync('redis-server', ['--version']).error) {
    throw new RelayError(
      'redis_unreachable',
      `no Redis answers at ${shownUrl} and redis-server is not on PATH: ${hint}`,
    );
  }
  mkdirSync(dir, { recursive: true });
  const { hostname, port } = new URL(url);
  const child = spawn(
    'redis-server',
    [
      '--port',
      port || '6379',
      '--bind',
      hostname || '127.0.0.1',
      '--dir',
      dir,
      '--pidfile',
      pidFile,
      '--logfile',
      join(dir, 'redis.log'),
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      'noeviction',
      '--save',
      '',
    ],
    // Its own session: the terminal's Ctrl-C reaches the relay only.
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  for (let i = 0; i < 50; i++) {
    if (child.exitCode !== null) break;
    if ((await answers(url, 200)) && child.pid !== undefined) return describe(child.pid, false);
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new RelayError(
    'redis_unreachable',
    `redis-server did not start on ${shownUrl} (data dir ${shown}, log ${join(shown, 'redis.log')}): ${hint}`,
  );
}
