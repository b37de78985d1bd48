import type { AnyChannel, ProbeResult } from '../channel.js';
import { errorMessage } from '../errors.js';

export type { ProbeResult };

const timeoutMs = 10_000;

/** One provider call for one account; a channel without a probe says so. */
export async function probeAccount(channel: AnyChannel, account: unknown): Promise<ProbeResult> {
  if (!channel.probe) return { status: 'none', message: `no online check for ${channel.name}` };
  try {
    return await channel.probe(account, AbortSignal.timeout(timeoutMs));
  } catch (err) {
    return { status: 'problem', message: errorMessage(err) };
  }
}
