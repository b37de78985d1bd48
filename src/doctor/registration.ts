import type { ChannelAccounts } from '../accounts.js';
import type { DoctorContext } from '../channel.js';
import type { Finding } from './finding.js';

/** Reads a loop's cursor (`channel:account:loop`); undefined when Redis is out of reach. */
export type CursorReader = DoctorContext['readCursor'];

/** Provider-side registration per account, where the channel can read it (`ChannelAdapter.doctor`). */
export async function registrationFindings(
  configured: readonly ChannelAccounts[],
  publicUrl: string | undefined,
  readCursor: CursorReader,
  nowMs: number,
): Promise<Finding[]> {
  const out: Finding[] = [];
  const ctx: DoctorContext = { publicUrl, readCursor, nowMs };
  for (const { channel, accounts } of configured) {
    if (!channel.doctor) continue;
    for (const account of accounts) out.push(...(await channel.doctor(account, ctx)));
  }
  return out;
}
