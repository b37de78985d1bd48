import { probeSlack } from '../../channels/slack/probe.js';
import { probeTeams } from '../../channels/teams/probe.js';
import { probeTelegram } from '../../channels/telegram/probe.js';
import type { AnyChannel } from '../channel.js';
import { errorMessage } from '../errors.js';

/** What one provider call says about one account's credentials. */
export interface ProbeResult {
  /** `none`: this account needs no outbound call, so there is nothing to test. */
  readonly status: 'ok' | 'problem' | 'none';
  /** Never a secret: for `problem`, what is wrong and how to fix it. */
  readonly message: string;
}

export type Probe<A> = (account: A, signal: AbortSignal) => Promise<ProbeResult>;

type AnyProbe = (account: unknown, signal: AbortSignal) => Promise<ProbeResult>;
// Each probe gets the accounts its own channel's schema parsed, as the channel's own methods do.
const entry = <A>(probe: Probe<A>): AnyProbe => probe as AnyProbe;

/**
 * Channel name → probe. Gmail (`users.getProfile`), Outlook (Graph `/users/{user}`) and Google Chat
 * (Pub/Sub `subscriptions.get`) belong here once their loops' credential code exists: each is a
 * `channels/<name>/probe.ts` exporting one `Probe` and one line below.
 */
export const probes: Readonly<Record<string, AnyProbe>> = {
  telegram: entry(probeTelegram),
  slack: entry(probeSlack),
  teams: entry(probeTeams),
};

const timeoutMs = 10_000;

/** One provider call for one account; a channel without a probe says so. */
export async function probeAccount(channel: AnyChannel, account: unknown): Promise<ProbeResult> {
  const probe = probes[channel.name];
  if (!probe) return { status: 'none', message: `no online check for ${channel.name}` };
  try {
    return await probe(account, AbortSignal.timeout(timeoutMs));
  } catch (err) {
    return { status: 'problem', message: errorMessage(err) };
  }
}
