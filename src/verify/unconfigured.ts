import { RejectedError } from '../errors.js';

/** The detail field naming the missing config field: how `relay doctor` tells these refusals apart. */
export const unconfiguredKey = 'unconfigured';

/**
 * The refusal of an inbound route an account does not use because the secret that would prove a
 * request is not configured (Slack on Socket Mode only, Google Chat on Pub/Sub only, Telegram
 * polling, Teams Graph-only or Bot-only). Fail closed: nothing can show such a request is the
 * provider's. `missing_signature` because no proof can be checked; the detail says why, for the
 * rejection log.
 */
export function routeNotConfigured(route: string, missing: string): RejectedError {
  return new RejectedError('missing_signature', {
    why: `${route} is not configured for this account (no ${missing})`,
    [unconfiguredKey]: missing,
  });
}
