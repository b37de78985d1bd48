import { signStandardWebhook } from '../verify/standard-webhooks.js';
import { relayUserAgent } from '../version.js';

/**
 * The headers of an event POSTed to an HTTP endpoint: the CloudEvent in structured JSON mode, and
 * Standard Webhooks' `webhook-id` (the event id, so a receiver can dedupe), `webhook-timestamp`
 * and, with secrets, `webhook-signature` signed by each (space-separated, for rotation).
 */
export function deliveryHeaders(input: {
  readonly id: string;
  readonly body: string | Buffer;
  readonly secrets: readonly string[];
  readonly nowMs: number;
  /** Which part of Relay sends it (`relay listen`); a destination's POST says just `Relay/<version>`. */
  readonly sender?: string;
}): Record<string, string> {
  const timestampSec = Math.floor(input.nowMs / 1000);
  return {
    'content-type': 'application/cloudevents+json',
    'user-agent': input.sender ? `${relayUserAgent} (${input.sender})` : relayUserAgent,
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
