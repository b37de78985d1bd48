import type { RelayConfig } from './schema.js';

/** Settings a config may still hold but that no longer do anything, each as one line saying what to do instead. */
export function deprecationWarnings(config: RelayConfig): string[] {
  const warnings: string[] = [];
  if (config.server.rateLimit.max !== undefined) {
    warnings.push(
      'server.rateLimit.max is deprecated and ignored: a request that verifies is never refused for its rate. ' +
        'Remove it; limit request volume at the ingress (docs/reliability.md, "Overload"); server.maxInFlight bounds the relay\'s own load',
    );
  }
  return warnings;
}
