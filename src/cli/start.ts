import { loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { ensureLocalRedis, type LocalRedis } from '../redis/local-server.js';
import { maskRedisUrl } from '../redis/url.js';
import { startRelay } from '../relay.js';
import { sizeHeapForTraffic } from './heap-sizing.js';
import { fail } from './output.js';

/** Hard ceiling for a graceful stop (contract: exit 0 within 10 s). */
const exitDeadlineMs = 9500;

export async function startCommand(opts: { config?: string }): Promise<void> {
  const started = performance.now();
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig(opts.config);
  } catch (err) {
    fail(err);
  }
  const { config } = loaded;
  const log = createLogger({ secrets: loaded.secrets });
  let localRedis: LocalRedis | undefined;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  try {
    localRedis = await ensureLocalRedis(
      config.redis.url,
      process.cwd(),
      // Only tests set it: the machine's own Redis may hold the default port.
      process.env.RELAY_DEFAULT_REDIS_URL || undefined,
    );
    if (localRedis)
      log.info(
        { redis: maskRedisUrl(config.redis.url), dir: localRedis.dir, pid: localRedis.pid },
        localRedis.reused
          ? 'using the local redis-server an earlier relay start left running'
          : 'no Redis was answering: started a local redis-server (append-only file on)',
      );
    relay = await startRelay({ config, log });
  } catch (err) {
    // A Redis started just now for a relay that cannot start is of no use to anyone.
    if (localRedis && !localRedis.reused) process.kill(localRedis.pid, 'SIGTERM');
    log.flush();
    fail(err);
  }
  log.info(
    {
      config: loaded.source,
      public: relay.publicUrl,
      ops: relay.opsUrl,
      queue: config.queue.name,
      readyMs: Math.round(performance.now() - started),
    },
    'relay ready',
  );
  sizeHeapForTraffic();
  if (loaded.demoToken) {
    const url = `${relay.publicUrl}/webhook/demo/hello`;
    process.stderr.write(
      `\nRelay is running with the development default (no relay.yaml): one trigger, demo/hello.\n` +
        `Send it an event:\n\n` +
        `  curl -i -X POST ${url} -H 'Authorization: Bearer ${loaded.demoToken}' -H 'Content-Type: application/json' -d '{"hello":"world"}'\n\n` +
        `Then list it:  npx relay events list\n\n`,
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'stopping: finishing in-flight requests');
    setTimeout(() => {
      log.error('could not stop in time; exiting');
      log.flush();
      process.exit(1);
    }, exitDeadlineMs).unref();
    await relay.close();
    if (localRedis) process.stderr.write(`relay: ${localRedis.keptRunning}\n`);
    log.info('stopped');
    log.flush(() => process.exit(0));
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
