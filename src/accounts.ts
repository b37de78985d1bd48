import type { AnyChannel } from './channel.js';
import type { RelayConfig } from './config/schema.js';

export interface ChannelAccounts {
  readonly channel: AnyChannel;
  readonly accounts: readonly unknown[];
}

/** Each registered channel with the accounts the config gives it (empty when none). */
export function configuredChannels(config: RelayConfig, channels: readonly AnyChannel[]): ChannelAccounts[] {
  const byKey = config.channels as Record<string, readonly unknown[] | undefined>;
  return channels.map((channel) => ({ channel, accounts: byKey[channel.configKey] ?? [] }));
}

/** channel name → account id → account. */
export function indexAccounts(configured: readonly ChannelAccounts[]): Map<string, Map<string, unknown>> {
  const index = new Map<string, Map<string, unknown>>();
  for (const { channel, accounts } of configured) {
    index.set(channel.name, new Map(accounts.map((a) => [channel.accountId(a), a])));
  }
  return index;
}

/** Queues named by accounts' `queue:` settings. */
export function accountQueues(configured: readonly ChannelAccounts[]): string[] {
  return configured.flatMap(({ channel, accounts }) =>
    accounts.map((a) => channel.queueOf(a)).filter((q): q is string => !!q),
  );
}
