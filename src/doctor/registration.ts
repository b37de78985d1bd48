import type { TeamsAccount } from '../../channels/teams/config.js';
import { keyOf, parseState } from '../../channels/teams/subscription-state.js';
import { subscriptionsLoopName } from '../../channels/teams/subscriptions.js';
import { botApi, webhookDrift, webhookUrl } from '../../channels/telegram/api.js';
import type { TelegramAccount } from '../../channels/telegram/config.js';
import type { ChannelAccounts } from '../accounts.js';
import { errorMessage } from '../errors.js';
import { type Finding, finding } from './finding.js';

const timeoutMs = 10_000;

/**
 * Telegram: getWebhookInfo must show `{publicUrl}/telegram/{account}` and no recent delivery
 * error in webhook mode, and no webhook at all in polling mode (getUpdates fails while one is set).
 * https://core.telegram.org/bots/api#getwebhookinfo
 */
export async function telegramRegistration(
  account: TelegramAccount,
  publicUrl: string | undefined,
): Promise<Finding> {
  const check = `telegram/${account.account} registration`;
  try {
    const info = await botApi(account).getWebhookInfo(AbortSignal.timeout(timeoutMs));
    if (account.mode === 'polling') {
      return info.url
        ? finding(
            'problem',
            check,
            `a webhook to ${info.url} is set, so getUpdates cannot poll: run relay telegram delete-webhook ${account.account}`,
          )
        : finding('ok', check, 'no webhook set (polling mode)');
    }
    if (!publicUrl)
      return finding(
        'warning',
        check,
        `Telegram delivers to ${info.url || '(no URL)'}; no publicUrl in the config to compare with: set publicUrl`,
      );
    const expected = webhookUrl(publicUrl, account);
    const drift = webhookDrift(info, expected);
    if (drift)
      return finding(
        'problem',
        check,
        `${drift}: run relay telegram set-webhook ${account.account} (the relay also re-registers at start)`,
      );
    return finding(
      'ok',
      check,
      `Telegram delivers to ${info.url}, ${info.pending_update_count} updates pending`,
    );
  } catch (err) {
    return finding('problem', check, errorMessage(err));
  }
}

/** Reads a loop's cursor (`channel:account:loop`); undefined when Redis is out of reach. */
export type CursorReader = ((loopId: string) => Promise<string | null>) | undefined;

/**
 * Teams: every configured Graph subscription should exist and be unexpired in the subscription
 * loop's own record (its cursor), which the loop renews before expiry.
 */
export async function teamsSubscriptions(
  account: TeamsAccount,
  readCursor: CursorReader,
  nowMs: number,
): Promise<Finding> {
  const check = `teams/${account.account} subscriptions`;
  if (!readCursor) return finding('skipped', check, 'needs Redis, where the subscription loop keeps them');
  const state = parseState(
    (await readCursor(`teams:${account.account}:${subscriptionsLoopName}`)) ?? undefined,
  );
  const missing: string[] = [];
  const expired: string[] = [];
  let nextExpiry: string | undefined;
  for (const sub of account.subscriptions) {
    const entry = state.get(keyOf(sub));
    if (!entry) missing.push(sub.resource);
    else if (Date.parse(entry.expiresAt) <= nowMs) expired.push(`${sub.resource} (${entry.expiresAt})`);
    else if (!nextExpiry || entry.expiresAt < nextExpiry) nextExpiry = entry.expiresAt;
  }
  if (missing.length > 0)
    return finding(
      'problem',
      check,
      `not created: ${missing.join(', ')}; the subscriptions loop creates them once a relay runs with publicUrl and working credentials (its last error is in /admin/channels)`,
    );
  if (expired.length > 0)
    return finding(
      'problem',
      check,
      `expired: ${expired.join(', ')}; Graph stopped sending: the subscriptions loop is not renewing (see its loop line and /admin/channels)`,
    );
  return finding(
    'ok',
    check,
    `${account.subscriptions.length} alive, next expiry ${nextExpiry ?? 'unknown'}`,
  );
}

/** Provider-side registration per account, where it can be read. */
export async function registrationFindings(
  configured: readonly ChannelAccounts[],
  publicUrl: string | undefined,
  readCursor: CursorReader,
  nowMs: number,
): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const { channel, accounts } of configured) {
    for (const account of accounts) {
      if (channel.name === 'telegram') {
        out.push(await telegramRegistration(account as TelegramAccount, publicUrl));
      } else if (channel.name === 'teams' && (account as TeamsAccount).subscriptions.length > 0) {
        out.push(await teamsSubscriptions(account as TeamsAccount, readCursor, nowMs));
      }
    }
  }
  return out;
}
