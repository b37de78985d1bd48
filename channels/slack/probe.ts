import { type ProbeResult, probeNone, probeOk, probeProblem } from '../../src/channel.js';
import { errorMessage } from '../../src/errors.js';
import { retryAfterMs } from '../../src/provider/retry-after.js';
import type { SlackAccount } from './config.js';

/** Slack's `error` codes that mean the token itself is refused. https://api.slack.com/methods/auth.test */
const refused = new Set(['invalid_auth', 'not_authed', 'token_revoked', 'token_expired', 'account_inactive']);

/**
 * `auth.test` with the app-level token (Socket Mode). An account without one receives the Events
 * API over HTTP: Slack calls the relay, the relay calls nothing, so there is nothing to test.
 */
export const probeSlack = async (account: SlackAccount, signal: AbortSignal): Promise<ProbeResult> => {
  const token = account.appToken?.[0];
  if (!token)
    return probeNone(
      'Events API over HTTP needs no outbound call (signingSecret is checked on every request)',
    );
  const url = new URL('auth.test', account.apiUrl.replace(/\/?$/, '/'));
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      signal,
    });
  } catch (err) {
    return probeProblem(`Slack Web API at ${url.origin} unreachable: ${errorMessage(err)}`);
  }
  if (res.status === 429) {
    const waitMs = retryAfterMs(res.headers);
    return probeProblem(
      `Slack rate-limits auth.test; try again in ${waitMs === undefined ? 'a minute' : `${Math.ceil(waitMs / 1000)} s`}`,
    );
  }
  const body = (await res.json().catch(() => ({}))) as {
    ok?: boolean;
    error?: string;
    team?: string;
    app_id?: string;
  };
  if (body.ok)
    return probeOk(
      `appToken accepted${body.team ? ` (workspace ${body.team})` : ''}${body.app_id ? `, app ${body.app_id}` : ''}`,
    );
  const error = body.error ?? `HTTP ${res.status}`;
  if (refused.has(error))
    return probeProblem(
      `Slack refused appToken (${error}): generate a new app-level token with connections:write (app settings, Basic Information, App-Level Tokens) and put it in appToken`,
    );
  return probeProblem(`Slack auth.test failed: ${error}`);
};
