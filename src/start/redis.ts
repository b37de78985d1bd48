import type { RelayConfig } from '../config/schema.js';
import { errorMessage, RelayError } from '../errors.js';
import type { Logger } from '../log.js';
import { checkRedisVersion, createRedis, type RedisClient, waitForReady } from '../redis/connection.js';
import { describeRedis } from '../redis/url.js';

/** Connection errors are retried by ioredis and shown by /readyz: at debug level only. */
export function quietErrors<C extends RedisClient | undefined>(client: C, log: Logger): C {
  client?.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
  return client;
}

/**
 * The relay's main connection: ready within 5 s and of a supported version, else one line saying
 * where Redis was looked for. Once up, it logs the loss and the return of the connection once each.
 */
export async function connectRedis(config: RelayConfig, log: Logger): Promise<RedisClient> {
  const redis = quietErrors(createRedis(config.redis, 'producer'), log);
  try {
    await waitForReady(redis, 5000);
    const { version, warning } = await checkRedisVersion(redis);
    if (warning) log.warn(warning);
    log.debug({ version }, 'redis version');
  } catch (err) {
    redis.disconnect();
    throw new RelayError(
      'redis_unreachable',
      `cannot reach Redis at ${describeRedis(config.redis)}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  let redisDown = false;
  redis.on('close', () => {
    if (!redisDown)
      log.warn(
        { redis: describeRedis(config.redis) },
        'Redis connection lost: answering 503 until it is back',
      );
    redisDown = true;
  });
  redis.on('ready', () => {
    if (redisDown) log.info('Redis connection restored');
    redisDown = false;
  });
  return redis;
}

/** Closes a connection politely, or at once when Redis does not answer. */
export const quit = async (client: RedisClient | undefined): Promise<void> => {
  await client?.quit().catch(() => client.disconnect());
};
