import { type ChannelAccounts, type RuntimeChannel, runtimeChannel } from '../accounts.js';
import type { RelayConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { createRedis, type RedisClient } from '../redis/connection.js';
import { RuntimeTriggers } from '../triggers/runtime.js';
import { TriggerStore } from '../triggers/store.js';
import { quietErrors } from './redis.js';

/** Run-time generic triggers: this replica's copy for lookups, and the store the admin API writes. */
export interface TriggerParts {
  readonly channel: RuntimeChannel;
  readonly lookup: RuntimeTriggers;
  readonly store: TriggerStore;
}

/** Undefined when no registered channel takes run-time accounts. */
export async function startTriggers(
  config: RelayConfig,
  configured: readonly ChannelAccounts[],
  redis: RedisClient,
  log: Logger,
  now: () => number,
): Promise<TriggerParts | undefined> {
  const channel = runtimeChannel(configured);
  if (!channel) return undefined;
  const { prefix } = config.redis;
  const subscriber = quietErrors(createRedis(config.redis, 'blocking', 'relay-triggers'), log);
  const lookup = new RuntimeTriggers(redis, subscriber, prefix, channel.runtime, log, 5000, now);
  await lookup.start();
  // Looked up after the config's accounts, and never able to shadow one.
  const store = new TriggerStore(redis, prefix, channel.runtime, channel.configuredIds, now);
  await store.hashStoredTokens().then(
    (count) => count > 0 && log.info({ count }, 'run-time trigger tokens now kept as SHA-256 digests'),
    (err) =>
      log.warn({ err: errorMessage(err) }, 'could not hash stored trigger tokens; trying at next start'),
  );
  return { channel, lookup, store };
}
