import { channelList } from '../../channels/index.js';
import { accountQueues, configuredChannels } from '../accounts.js';
import { type LoadedConfig, loadConfig } from '../config/load.js';
import { routingRules } from '../destinations/config.js';
import { errorMessage, RelayError } from '../errors.js';
import { QueueSet } from '../queue/queues.js';
import { allQueues } from '../queue/routing.js';
import { createRedis, type RedisClient, waitForReady } from '../redis/connection.js';
import { describeRedis } from '../redis/url.js';
import { RejectionLog } from '../rejections.js';

/** What the inspection commands need: the config, a Redis connection, and every queue the relay writes to. */
export interface CliContext {
  readonly loaded: LoadedConfig;
  readonly redis: RedisClient;
  readonly queues: QueueSet;
  readonly queueNames: readonly string[];
  readonly rejections: RejectionLog;
  close(): Promise<void>;
}

export async function openContext(configFlag: string | undefined): Promise<CliContext> {
  const loaded = loadConfig(configFlag);
  const { config } = loaded;
  const redis = createRedis(config.redis, 'control', 'relay-cli');
  redis.on('error', () => {});
  try {
    await waitForReady(redis, 3000);
  } catch (err) {
    redis.disconnect();
    throw new RelayError(
      'redis_unreachable',
      `cannot reach Redis at ${describeRedis(config.redis)} (${errorMessage(err)}): is the relay's Redis running?`,
    );
  }
  const configured = configuredChannels(config, channelList);
  const queues = new QueueSet(redis, config);
  return {
    loaded,
    redis,
    queues,
    queueNames: allQueues(config.queue.name, accountQueues(configured), routingRules(config)),
    rejections: new RejectionLog(redis, config.redis.prefix),
    async close() {
      await queues.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
