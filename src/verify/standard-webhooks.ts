import { timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { checkTimestamp, type TimestampVerdict } from './timestamp.js';
import type { TimedVerdict } from './verdict.js';

/**
 * Standard Webhooks (https://www.standardwebhooks.com/): `webhook-id`, `webhook-timestamp`,
 * `webhook-signature: v1,<base64> [v1,<base64> …]` over `{id}.{timestamp}.{body}`.
 *
 * The signature itself comes from the `standardwebhooks` package so the algorithm is not restated
 * here. Its `verify()` reads `Date.now()` and parses the body as JSON, so the timestamp window (with
 * an injected clock) and the comparison are done here, over the raw body, and non-JSON cannot crash it.
 */
export interface StandardWebhookHeaders {
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
}

export type StandardWebhookVerdict = TimedVerdict;

const webhooks = new Map<string, Webhook>();
function webhookFor(secret: string): Webhook {
  let wh = webhooks.get(secret);
  if (!wh) {
    wh = new Webhook(secret);
    webhooks.set(secret, wh);
  }
  return wh;
}

/** Throws when `secret` is not a valid `whsec_<base64>` key; used by config validation. */
export function assertStandardWebhookSecret(secret: string): void {
  webhookFor(secret);
}

export function signStandardWebhook(
  secret: string,
  id: string,
  timestampSec: number,
  body: Buffer | string,
): string {
  return webhookFor(secret).sign(id, new Date(timestampSec * 1000), body);
}

export function verifyStandardWebhook(
  headers: StandardWebhookHeaders,
  body: Buffer,
  secrets: readonly string[],
  nowMs: number,
  toleranceSec = 300,
): StandardWebhookVerdict {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return { ok: false, reason: 'missing' };
  const window: TimestampVerdict = checkTimestamp(timestamp, nowMs, toleranceSec);
  if (!window.ok) {
    return window.reason === 'stale' && window.skewSec !== undefined
      ? { ok: false, reason: 'stale', skewSec: window.skewSec }
      : { ok: false, reason: 'mismatch' };
  }
  const passed = signature
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s));
  let ok = false;
  for (const secret of secrets) {
    const expected = Buffer.from(signStandardWebhook(secret, id, Number(timestamp), body));
    for (const candidate of passed) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) ok = true;
    }
  }
  return ok ? { ok: true } : { ok: false, reason: 'mismatch' };
}
