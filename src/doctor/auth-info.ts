import type { ChannelAccounts } from '../accounts.js';
import type { AuthInfo } from './patterns.js';

/**
 * Where each configured account's proof of origin travels, asked of the channel itself
 * (`ChannelAdapter.proofOf`), for the "header never arrives" and "secret rotated" diagnoses.
 */
export function authLookup(
  configured: readonly ChannelAccounts[],
): (channel: string, account: string, path: string) => AuthInfo | undefined {
  const byChannel = new Map<
    string,
    { proof: (account: unknown, path: string) => AuthInfo | undefined; accounts: Map<string, unknown> }
  >();
  for (const { channel, accounts } of configured) {
    const proofOf = channel.proofOf;
    if (!proofOf) continue;
    byChannel.set(channel.name, {
      proof: (account, path) => proofOf.call(channel, account, path),
      accounts: new Map(accounts.map((a) => [channel.accountId(a), a])),
    });
  }
  return (channel, account, path) => {
    const entry = byChannel.get(channel);
    const config = entry?.accounts.get(account);
    return entry && config !== undefined ? entry.proof(config, path) : undefined;
  };
}
