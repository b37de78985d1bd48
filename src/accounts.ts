import { type AnyChannel, configKeyOf, type RuntimeAccounts } from './channel.js';
import type { RelayConfig } from './config/schema.js';

export interface ChannelAccounts {
  readonly channel: AnyChannel;
  readonly accounts: readonly unknown[];
}

/** Each registered channel with the accounts the config gives it (empty when none). */
export function configuredChannels(config: RelayConfig, channels: readonly AnyChannel[]): ChannelAccounts[] {
  const byKey = config.channels as Record<string, readonly unknown[] | undefined>;
  return channels.map((channel) => ({ channel, accounts: byKey[configKeyOf(channel)] ?? [] }));
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

/** The registered channel whose accounts can also be created at run time (generic triggers). */
export interface RuntimeChannel extends ChannelAccounts {
  readonly runtime: RuntimeAccounts<unknown>;
  /** Ids of its configured accounts: a run-time one never shadows them. */
  readonly configuredIds: ReadonlySet<string>;
}

export function runtimeChannel(configured: readonly ChannelAccounts[]): RuntimeChannel | undefined {
  const entry = configured.find((c) => c.channel.runtimeAccounts);
  const runtime = entry?.channel.runtimeAccounts;
  if (!entry || !runtime) return undefined;
  const { channel, accounts } = entry;
  return { ...entry, runtime, configuredIds: new Set(accounts.map((a) => channel.accountId(a))) };
}
