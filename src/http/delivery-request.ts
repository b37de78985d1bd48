import { signStandardWebhook } from '../verify/standard-webhooks.js';

/** Names Relay to the receiving end; `what` says which part sent it (`relay listen`, a destination). */
export const relayUserAgent = (what: string) => `Relay/0.1 (${what})`;

/**
 * The headers of an event POSTed to an HTTP endpoint: the CloudEvent in structured JSON mode, and
 * Standard Webhooks' `webhook-id` (the event id, so a receiver can dedupe), `webhook-timestamp`
 * and, with secrets, `webhook-signature` signed by each (space-separated, for rotation).
 */
export function deliveryHeaders(input: {
  readonly id: string;
  readonly body: string;
  readonly secrets: readonly string[];
  readonly nowMs: number;
  readonly userAgent: string;
}): Record<string, string> {
  const timestampSec = Math.floor(input.nowMs / 1000);
  return {
    'content-type': 'application/cloudevents+json',
    'user-agent': input.userAgent,
    'webhook-id': input.id,
    'webhook-timestamp': String(timestampSec),
    ...(input.secrets.length > 0
      ? {
          'webhook-signature': input.secrets
            .map((s) => signStandardWebhook(s, input.id, timestampSec, input.body))
            .join(' '),
        }
      : {}),
  };
}
