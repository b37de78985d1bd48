import type { ChannelAccounts } from '../accounts.js';
import type { AuthInfo } from './patterns.js';

/**
 * Where each channel carries its proof of origin (contract section 3), for the doctor's
 * "header never arrives" and "secret rotated" diagnoses.
 */
const fixed: Record<string, AuthInfo> = {
  whatsapp: { headers: ['X-Hub-Signature-256'], secretField: 'appSecret' },
  slack: { headers: ['X-Slack-Signature', 'X-Slack-Request-Timestamp'], secretField: 'signingSecret' },
  telegram: { headers: ['X-Telegram-Bot-Api-Secret-Token'], secretField: 'secretToken' },
  googlechat: { headers: ['Authorization'], secretField: 'audience' },
};

/** The generic channel's account, as far as the doctor reads it. */
interface TriggerAuth {
  readonly scheme: string;
  readonly header?: string;
}

function triggerAuth(auth: TriggerAuth): AuthInfo | undefined {
  switch (auth.scheme) {
    case 'hmac-sha256':
      return { headers: [auth.header ?? 'X-Signature-256'], secretField: 'auth.secrets' };
    case 'token':
      return { headers: ['Authorization'], alternative: 'X-Relay-Token', secretField: 'auth.token' };
    case 'standard-webhooks':
      return {
        headers: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
        secretField: 'auth.secrets',
      };
    default:
      return undefined;
  }
}

export function authLookup(
  configured: readonly ChannelAccounts[],
): (channel: string, account: string, path: string) => AuthInfo | undefined {
  const triggers = new Map<string, TriggerAuth>();
  for (const { channel, accounts } of configured) {
    if (channel.name !== 'webhook') continue;
    for (const a of accounts) triggers.set(channel.accountId(a), (a as { auth: TriggerAuth }).auth);
  }
  return (channel, account, path) => {
    if (channel === 'webhook') {
      const auth = triggers.get(account);
      return auth ? triggerAuth(auth) : undefined;
    }
    if (channel === 'teams') {
      // Bot Framework sends a JWT; Graph puts clientState inside the body, so no header to miss.
      return path.endsWith('/messages')
        ? { headers: ['Authorization'], secretField: 'appId' }
        : { headers: [], secretField: 'clientState' };
    }
    return fixed[channel];
  };
}
