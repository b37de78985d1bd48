import type { RelayConfig } from '../config/schema.js';
import { type Finding, finding } from '../doctor/finding.js';
import { errorMessage } from '../errors.js';
import type { QueueSet } from '../queue/queues.js';
import type { RedisClient } from '../redis/connection.js';
import { relayUserAgent } from '../version.js';
import { DeliveryError, DeliveryTarget } from './deliver.js';
import { DeliveryState, destinationStatuses } from './state.js';

type Destination = RelayConfig['destinations'][number];

/** The probe waits at most this long, whatever the destination's own timeoutMs. */
const probeTimeoutMs = 5000;

/**
 * Does the destination answer? One `OPTIONS` request: it creates no event at the destination (a
 * signed test POST would be taken for one by a receiver that verifies and acts), and any HTTP
 * answer, 404 and 405 included, proves the URL reaches a server. A 5xx is a warning, no answer a
 * problem. Used by `relay doctor` and `relay check --destinations`.
 */
export async function probeDestination(d: Destination): Promise<Finding> {
  const check = `destination ${d.name}`;
  const target = new DeliveryTarget(d.name, d.url, [], Math.min(d.timeoutMs, probeTimeoutMs), 1);
  try {
    const status = await target.send('OPTIONS', { 'user-agent': relayUserAgent });
    return finding('ok', check, `${target.displayUrl} answers (HTTP ${status} to OPTIONS)`);
  } catch (err) {
    if (err instanceof DeliveryError && err.status !== undefined) {
      return err.status >= 500
        ? finding('warning', check, `${target.displayUrl} answers OPTIONS with ${err.message}`)
        : finding('ok', check, `${target.displayUrl} answers (HTTP ${err.status} to OPTIONS)`);
    }
    return finding(
      'problem',
      check,
      `${target.displayUrl} does not answer: ${errorMessage(err)}; check the url and that the service runs`,
    );
  } finally {
    target.close();
  }
}

/** `relay doctor`: each destination answers, and what its deliveries did lately (state in Redis). */
export async function destinationFindings(
  config: Pick<RelayConfig, 'destinations' | 'redis'>,
  redis: RedisClient,
  queues: QueueSet,
): Promise<Finding[]> {
  if (config.destinations.length === 0) return [];
  const state = new DeliveryState(redis, config.redis.prefix);
  const [probes, statuses] = await Promise.all([
    Promise.all(config.destinations.map(probeDestination)),
    destinationStatuses(config.destinations, state, queues),
  ]);
  const out: Finding[] = [];
  statuses.forEach((s, i) => {
    const check = `destination ${s.name}`;
    out.push(probes[i] as Finding);
    if (s.lastErrorAt && (!s.lastSuccessAt || s.lastErrorAt > s.lastSuccessAt))
      out.push(
        finding(
          'problem',
          check,
          `the last delivery failed (${s.lastErrorAt}, event ${s.lastErrorEvent}): ${s.lastError}; ${s.backlog} waiting`,
        ),
      );
    if (s.failed > 0)
      out.push(
        finding(
          'warning',
          check,
          `${s.failed} event(s) failed for good; once the destination is fixed: relay events replay --state failed`,
        ),
      );
  });
  return out;
}
