import type { RelayConfig } from '../config/schema.js';
import { errorMessage, UnavailableError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { enqueueTimeoutMs } from '../redis/connection.js';
import type { RelayEvent } from './envelope.js';
import type { QueueSet } from './queues.js';
import { queuesFor } from './routing.js';

/**
 * Puts events into Redis. `emit` resolves only when every event is a job in every queue it is
 * routed to; otherwise it throws `UnavailableError` and the caller acknowledges nothing.
 */
export class Producer {
  readonly #dedupeTtlMs: number;
  constructor(
    private readonly queues: QueueSet,
    private readonly config: RelayConfig,
    private readonly metrics: Metrics,
  ) {
    this.#dedupeTtlMs = Math.round(config.queue.dedupeHours * 3_600_000);
  }

  async emit(events: readonly RelayEvent[], homeQueue: string | undefined): Promise<string[]> {
    if (events.length === 0) return [];
    const stop = this.metrics.enqueueSeconds.startTimer();
    const home = homeQueue ?? this.config.queue.name;
    const adds: Promise<unknown>[] = [];
    for (const event of events) {
      for (const name of queuesFor(event, home, this.config.routes)) {
        // The event id is the job id, and a deduplication key outlives job removal for dedupeHours:
        // a provider redelivery makes no new job.
        adds.push(
          this.queues.get(name).add(event.type, event, {
            jobId: event.id,
            deduplication: { id: event.id, ttl: this.#dedupeTtlMs },
          }),
        );
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis did not answer within ${enqueueTimeoutMs} ms`)),
        enqueueTimeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all(adds), timeout]);
    } catch (err) {
      // Late adds may still land; the provider's retry is then absorbed by dedupe.
      for (const add of adds) add.catch(() => {});
      throw new UnavailableError(`could not queue events: ${errorMessage(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
      stop();
    }
    for (const event of events) this.metrics.enqueued.inc({ channel: event.channel, type: event.type });
    return events.map((e) => e.id);
  }
}
