import type { InboundRequest } from '../../src/channel.js';
import { RejectedError } from '../../src/errors.js';
import { header } from '../../src/request.js';
import { type HmacScheme, type SignedContent, signHmac, verifyHmac } from '../../src/verify/hmac.js';
import { checkTimestamp } from '../../src/verify/timestamp.js';
import { enforceVerdict } from '../../src/verify/verdict.js';

/**
 * Slack request signing, https://api.slack.com/authentication/verifying-requests-from-slack:
 * `X-Slack-Signature: v0=<hex HMAC-SHA256(signingSecret, "v0:" + X-Slack-Request-Timestamp + ":" + raw body)>`,
 * and a timestamp within five minutes. bolt-js (src/receivers/verify-request.ts) only refuses old
 * timestamps; this window is symmetric, so a signature made with a clock far ahead cannot be
 * replayed later either.
 */
export const slackScheme: HmacScheme = { algorithm: 'sha256', encoding: 'hex', prefix: 'v0=' };
export const slackToleranceSec = 300;

/** The base string as parts, so the body is never copied. */
const baseString = (timestamp: string, body: Buffer): SignedContent => ['v0:', timestamp, ':', body];

export function signSlack(secret: string, timestamp: string, body: Buffer): string {
  return signHmac(secret, baseString(timestamp, body), slackScheme);
}

export function verifySlack(req: InboundRequest, secrets: readonly string[], nowMs: number): void {
  const signature = header(req, 'x-slack-signature');
  const timestamp = header(req, 'x-slack-request-timestamp');
  if (!signature || !timestamp) throw new RejectedError('missing_signature');
  const window = checkTimestamp(timestamp, nowMs, slackToleranceSec);
  if (!window.ok && window.reason === 'invalid')
    throw new RejectedError('bad_signature', { why: 'X-Slack-Request-Timestamp is not a Unix time' });
  if (!window.ok) enforceVerdict({ ok: false, reason: 'stale', skewSec: window.skewSec ?? 0 });
  enforceVerdict(verifyHmac(signature, baseString(timestamp, req.body), secrets, slackScheme));
}
