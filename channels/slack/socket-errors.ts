import { CredentialError, errorMessage, RetryLaterError } from '../../src/errors.js';
import type { SlackAccount } from './config.js';

/** The fields of @slack/web-api's coded errors that matter here (errors.ts in that package). */
interface WebApiError {
  readonly code?: unknown;
  readonly retryAfter?: unknown;
  readonly statusCode?: unknown;
  readonly data?: {
    readonly error?: unknown;
    readonly response_metadata?: { readonly retryAfter?: unknown };
  };
}

/**
 * apps.connections.open errors that no retry fixes: the token is wrong, revoked, of the wrong kind
 * or lacks `connections:write` (https://api.slack.com/methods/apps.connections.open#errors).
 */
const refused = new Set([
  'not_authed',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
  'missing_scope',
  'no_permission',
  'team_disabled',
  'user_removed_from_team',
]);

const defaultRetryAfterSec = 30;
const seconds = (v: unknown) => (typeof v === 'number' && v >= 0 ? v : defaultRetryAfterSec);

/** One line for people, from whatever `SocketModeClient.start()` rejected with. */
export function openError(err: unknown, account: SlackAccount): Error {
  const who = `slack account "${account.account}"`;
  const e = (typeof err === 'object' && err !== null ? err : {}) as WebApiError;
  switch (e.code) {
    case 'slack_webapi_rate_limited_error': {
      const sec = seconds(e.retryAfter);
      return new RetryLaterError(
        `apps.connections.open was rate limited (HTTP 429) for ${who}; retrying in ${sec} s`,
        sec * 1000,
      );
    }
    case 'slack_webapi_platform_error': {
      const code = String(e.data?.error);
      if (code === 'ratelimited') {
        const sec = seconds(e.data?.response_metadata?.retryAfter);
        return new RetryLaterError(
          `apps.connections.open answered ratelimited for ${who}; retrying in ${sec} s`,
          sec * 1000,
        );
      }
      if (refused.has(code))
        return new CredentialError(
          `apps.connections.open refused the appToken of ${who} (${code}): create an app-level token with the connections:write scope and set appToken`,
        );
      return new Error(`apps.connections.open failed for ${who}: ${code}`);
    }
    case 'slack_webapi_http_error':
      return new Error(
        `apps.connections.open answered HTTP ${String(e.statusCode)} for ${who}; check apiUrl`,
      );
    case 'slack_webapi_request_error':
      return new Error(
        `could not reach apps.connections.open for ${who}: ${errorMessage(err)}; check apiUrl and the network`,
      );
  }
  // The Web API client gives up on a 429 without a usable Retry-After with a plain Error.
  if (err instanceof Error && /rate limit|retry header/i.test(err.message))
    return new RetryLaterError(
      `apps.connections.open was rate limited for ${who}; retrying in ${defaultRetryAfterSec} s`,
      defaultRetryAfterSec * 1000,
    );
  if (err === undefined)
    return new Error(`the Socket Mode connection of ${who} closed before Slack said hello; reconnecting`);
  return new Error(`Socket Mode connection failed for ${who}: ${errorMessage(err)}`);
}
