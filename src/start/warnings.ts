import type { ChannelAccounts } from '../accounts.js';
import { deprecationWarnings } from '../config/deprecated.js';
import type { RelayConfig } from '../config/schema.js';
import type { Logger } from '../log.js';

/** What is worth a warning at every start: channels' own (an unauthenticated trigger), settings that work against each other, deprecated keys. */
export function logStartWarnings(
  config: RelayConfig,
  configured: readonly ChannelAccounts[],
  log: Logger,
): void {
  for (const { channel, accounts } of configured) {
    for (const account of accounts)
      for (const warning of channel.warnings?.(account) ?? []) log.warn({ channel: channel.name }, warning);
  }
  if (config.queue.keepCompletedHours < config.queue.dedupeHours) {
    log.warn(
      'queue.keepCompletedHours is below queue.dedupeHours: completed jobs vanish before their dedupe window ends',
    );
  }
  for (const warning of deprecationWarnings(config)) log.warn(warning);
}
