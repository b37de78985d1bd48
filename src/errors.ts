/**
 * One error base for the relay. Every error a person may see carries a code and a one-line message
 * that says what is wrong and what to do; HTTP statuses are mapped here and nowhere else.
 */
export class RelayError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Reason codes kept in the rejection log (contract section 5) plus the few the log does not need. */
export type RejectReason =
  | 'missing_signature'
  | 'bad_signature'
  | 'stale_timestamp'
  | 'unknown_account'
  | 'body_too_large'
  | 'unsupported_media'
  | 'bad_body'
  | 'rate_limited'
  | 'forbidden'
  | 'method_not_allowed';

const rejectStatus: Record<RejectReason, number> = {
  missing_signature: 401,
  bad_signature: 401,
  stale_timestamp: 401,
  forbidden: 403,
  unknown_account: 404,
  method_not_allowed: 405,
  body_too_large: 413,
  unsupported_media: 415,
  bad_body: 400,
  rate_limited: 429,
};

/** Public-facing messages: they never say which secret was tried or what was expected. */
const rejectMessage: Record<RejectReason, string> = {
  missing_signature: 'missing signature',
  bad_signature: 'invalid signature',
  stale_timestamp: 'timestamp outside the allowed window',
  forbidden: 'forbidden',
  unknown_account: 'not found',
  method_not_allowed: 'method not allowed',
  body_too_large: 'body too large',
  unsupported_media: 'unsupported content type or encoding',
  bad_body: 'body could not be parsed',
  rate_limited: 'too many requests',
};

/** A request refused before anything was queued. `detail` is for logs and the rejection log, never the client. */
export class RejectedError extends RelayError {
  readonly reason: RejectReason;
  readonly status: number;
  readonly detail: Readonly<Record<string, string | number>> | undefined;
  constructor(reason: RejectReason, detail?: Record<string, string | number>, options?: { cause?: unknown }) {
    super(reason, rejectMessage[reason], options);
    this.reason = reason;
    this.status = rejectStatus[reason];
    this.detail = detail;
  }
}

/** Redis (or whatever holds the events) cannot take them now: the caller answers 503 and the provider retries. */
export class UnavailableError extends RelayError {
  readonly retryAfterSec: number;
  constructor(message: string, options?: { cause?: unknown; retryAfterSec?: number }) {
    super('unavailable', message, options);
    this.retryAfterSec = options?.retryAfterSec ?? 5;
  }
}

/** Thrown by a loop when waiting is the answer (throttled, overloaded): the runner honours `retryAfterMs`. */
export class RetryLaterError extends RelayError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, options?: { cause?: unknown }) {
    super('retry_later', message, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** Thrown by a loop whose credentials were refused (401, `invalid_grant`): retried slowly, reported as re-consent needed. */
export class CredentialError extends RelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('credentials_refused', message, options);
  }
}

/** Every problem found in a configuration, reported together as `path.to.field: message`. */
export class ConfigError extends RelayError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('config_invalid', `invalid configuration:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
