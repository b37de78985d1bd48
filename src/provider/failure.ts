import { CredentialError, RetryLaterError } from '../errors.js';
import { type HeaderSource, retryAfterMs } from './retry-after.js';

/** What a provider answered, reduced to what decides the loop's next step. */
export interface ProviderAnswer {
  readonly status: number;
  readonly headers?: HeaderSource;
  /** The OAuth `error` code of a token endpoint's answer (`invalid_grant`, …). */
  readonly oauthError?: string | undefined;
  /** The provider says it is throttling or overloaded in its own words (Gmail's 403 `rateLimitExceeded`, Pub/Sub's `RESOURCE_EXHAUSTED`). */
  readonly throttled?: boolean;
  /** The provider says the credentials lack access in its own words (a 403, `PERMISSION_DENIED`). */
  readonly refused?: boolean;
}

export interface FailureAdvice {
  /** Wait this long when a throttled answer has no usable Retry-After; default 10 s. */
  readonly defaultRetryMs?: number;
  /** Appended to a CredentialError's message: what the operator should check or run. */
  readonly credentials?: string;
  /** 503 and 504 count as throttling (Graph's documented behaviour); default true. */
  readonly serverBusyIsThrottling?: boolean;
}

/** Token endpoint answers that mean the credentials themselves are refused (RFC 6749 §5.2). */
export const refusedGrants: ReadonlySet<string> = new Set([
  'invalid_grant',
  'invalid_client',
  'unauthorized_client',
  'invalid_scope',
]);

/**
 * A provider's failed answer as the loop runner understands it: throttling (429, 503/504, or the
 * provider's own words) → `RetryLaterError` with its Retry-After; refused credentials (401, an
 * OAuth refusal, or the provider's own words) → `CredentialError` (retried slowly, reported as
 * re-consent needed); anything else → a plain `Error`, retried with backoff. `what` is the whole
 * message (the call, the account, the provider's status and reason) and carries no secret.
 */
export function providerFailure(what: string, answer: ProviderAnswer, advice: FailureAdvice = {}): Error {
  const { status } = answer;
  const busy = (status === 503 || status === 504) && advice.serverBusyIsThrottling !== false;
  if (status === 429 || answer.throttled || busy) {
    const waitMs = retryAfterMs(answer.headers);
    // A 503 without Retry-After is an outage, not a request to slow down: plain backoff.
    if (status === 429 || answer.throttled || waitMs !== undefined)
      return new RetryLaterError(what, waitMs ?? advice.defaultRetryMs ?? 10_000);
  }
  if (status === 401 || answer.refused || (answer.oauthError && refusedGrants.has(answer.oauthError)))
    return new CredentialError(advice.credentials ? `${what}; ${advice.credentials}` : what);
  return new Error(what);
}
