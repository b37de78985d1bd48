import { describe, expect, it } from 'vitest';
import { CredentialError, RelayError, RetryLaterError } from '../errors.js';
import { providerFailure } from './failure.js';
import { retryAfterMs } from './retry-after.js';

describe('retryAfterMs', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads delay-seconds and HTTP-dates from a value, fetch Headers or a plain header object', () => {
    expect(retryAfterMs('7', now)).toBe(7000);
    expect(retryAfterMs(new Headers({ 'retry-after': '120' }), now)).toBe(120_000);
    expect(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }, now)).toBe(10_000);
  });

  it('clamps to at least 1 s and at most an hour', () => {
    expect(retryAfterMs('0', now)).toBe(1000);
    expect(retryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(1000);
    expect(retryAfterMs('86400', now)).toBe(3_600_000);
  });

  it('is undefined when absent or unreadable, so the caller backs off on its own', () => {
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': 7 }, now)).toBeUndefined();
    expect(retryAfterMs('-3', now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });
});

describe('providerFailure', () => {
  it("429, 503/504 with Retry-After and throttling in the provider's words wait as asked", () => {
    const limited = providerFailure('x', { status: 429, headers: { 'retry-after': '3' } });
    expect(limited).toBeInstanceOf(RetryLaterError);
    expect((limited as RetryLaterError).retryAfterMs).toBe(3000);
    expect(
      (providerFailure('x', { status: 429 }, { defaultRetryMs: 2500 }) as RetryLaterError).retryAfterMs,
    ).toBe(2500);
    expect(providerFailure('x', { status: 503, headers: { 'retry-after': '5' } })).toBeInstanceOf(
      RetryLaterError,
    );
    expect(providerFailure('x', { status: 403, throttled: true })).toBeInstanceOf(RetryLaterError);
  });

  it('a 503 without Retry-After is an outage: plain backoff, and not throttling at all when the provider says so', () => {
    const outage = providerFailure('x', { status: 503 });
    expect(outage).not.toBeInstanceOf(RelayError);
    expect(
      providerFailure(
        'x',
        { status: 503, headers: { 'retry-after': '5' } },
        { serverBusyIsThrottling: false },
      ),
    ).not.toBeInstanceOf(RelayError);
  });

  it("401, refused grants and refusals in the provider's words are credential problems, with the advice", () => {
    const refused = providerFailure('token refused', { status: 401 }, { credentials: 'check clientSecret' });
    expect(refused).toBeInstanceOf(CredentialError);
    expect(refused.message).toBe('token refused; check clientSecret');
    expect(providerFailure('x', { status: 400, oauthError: 'invalid_grant' })).toBeInstanceOf(
      CredentialError,
    );
    expect(providerFailure('x', { status: 400, oauthError: 'invalid_request' })).not.toBeInstanceOf(
      RelayError,
    );
    expect(providerFailure('x', { status: 403, refused: true })).toBeInstanceOf(CredentialError);
    expect(providerFailure('x', { status: 500 })).not.toBeInstanceOf(RelayError);
  });
});
