import type { DoctorContext, DoctorFinding } from '../../src/channel.js';
import type { TeamsAccount } from './config.js';
import { keyOf, parseState } from './subscription-state.js';
import { subscriptionsLoopName } from './subscriptions.js';

const finding = (verdict: DoctorFinding['verdict'], check: string, message: string): DoctorFinding => ({
  verdict,
  check,
  message,
});

/**
 * Teams: every configured Graph subscription should exist and be unexpired in the subscription
 * loop's own record (its cursor), which the loop renews before expiry.
 */
export async function teamsSubscriptions(
  account: TeamsAccount,
  readCursor: DoctorContext['readCursor'],
  nowMs: number,
): Promise<DoctorFinding> {
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

/** `relay doctor`: the Graph subscriptions this account configures, as the subscription loop keeps them. */
export async function doctorTeams(account: TeamsAccount, ctx: DoctorContext): Promise<DoctorFinding[]> {
  if (account.subscriptions.length === 0) return [];
  return [await teamsSubscriptions(account, ctx.readCursor, ctx.nowMs)];
}

/** Bot Framework sends a JWT; Graph puts clientState inside the body, so there is no header to miss. */
export const teamsProof = (_account: TeamsAccount, routePath: string) =>
  routePath.endsWith('/messages')
    ? { headers: ['Authorization'], secretField: 'appId' }
    : { headers: [], secretField: 'clientState' };
