import type { RelayConfig } from '../config/schema.js';
import { errorMessage, UnavailableError } from '../errors.js';
import { enqueueTimeoutMs } from '../redis/connection.js';
import { dedupeOf, type RelayEvent } from './envelope.js';
import type { EventSink, Fence } from './journal.js';
import type { QueueSet } from './queues.js';
import { queuesFor } from './routing.js';

/** Requests per pipelined `addJobs`: see `Producer.#add`. */
const maxBatchRequests = 16;

/** What the producer counts: the relay's metrics, or (in the pump thread) a tally sent to them. */
export interface ProducerMetrics {
  readonly enqueued: { inc(labels: { channel: string; type: string }): void };
  readonly enqueueSeconds: { startTimer(): () => unknown };
}

/** The parts of the config that decide where and how events become jobs. */
export type QueueConfig = Pick<RelayConfig, 'redis' | 'queue' | 'routes'>;

/**
 * Puts events into Redis. `emit` resolves only when every event is a job in every queue it is
 * routed to; otherwise it throws `UnavailableError` and the caller acknowledges nothing.
 */
export class Producer implements EventSink {
  readonly #dedupeTtlMs: number;
  constructor(
    private readonly queues: QueueSet,
    private readonly config: QueueConfig,
    private readonly metrics: ProducerMetrics,
    /** With replicas (Sentinel), waits until they hold the jobs too: see src/redis/replicas.ts. */
    private readonly fence?: Fence,
  ) {
    this.#dedupeTtlMs = Math.round(config.queue.dedupeHours * 3_600_000);
  }

  /** The options that make a job of an event: its id is the job id, deduplicated as `dedupeOf` says. */
  #jobOptions(event: RelayEvent) {
    const deduplication = dedupeOf(event.id, this.#dedupeTtlMs);
    return deduplication ? { jobId: event.id, deduplication } : { jobId: event.id };
  }

  /**
   * Many requests' events at once: one `addBulk` (one pipeline, one socket write) per queue, with the
   * same job id and deduplication for every event, so an event added twice makes no second job.
   * Rejects when any add fails; what did land is deduped when the batch is retried.
   */
  async addJobs(items: ReadonlyArray<{ readonly home: string; readonly events: readonly RelayEvent[] }>) {
    const byQueue = new Map<string, Array<{ name: string; data: RelayEvent; opts: object }>>();
    for (const { home, events } of items) {
      for (const event of events) {
        for (const name of queuesFor(event, home, this.config.routes)) {
          const jobs = byQueue.get(name) ?? [];
          byQueue.set(name, jobs);
          jobs.push({ name: event.type, data: event, opts: this.#jobOptions(event) });
        }
      }
    }
    await Promise.all([...byQueue].map(([name, jobs]) => this.queues.get(name).addBulk(jobs)));
    await this.fence?.wait();
    for (const { events } of items)
      for (const event of events) this.metrics.enqueued.inc({ channel: event.channel, type: event.type });
  }

  #batch: Array<{ home: string; events: readonly RelayEvent[]; done: (err?: unknown) => void }> = [];

  /**
   * Joins the events of the requests that reach this point in one turn of the event loop into
   * `addJobs` calls of at most `maxBatchRequests` requests each: 50 concurrent requests cost a few
   * pipelined writes instead of 50 (the producer connection cannot auto-pipeline:
   * src/redis/connection.ts). The cap keeps several batches in flight, so Node builds the next
   * while Redis runs the last; one unbounded batch left each idle while the other worked
   * (docs/performance.md: 6.6k → 10.8k jobs/s with 100 callers and no HTTP).
   */
  #add(home: string, events: readonly RelayEvent[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#batch.push({ home, events, done: (err) => (err ? reject(err) : resolve()) });
      if (this.#batch.length >= maxBatchRequests) this.#flush();
      else if (this.#batch.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    this.addJobs(batch).then(
      () => {
        for (const b of batch) b.done();
      },
      (err: unknown) => {
        for (const b of batch) b.done(err ?? new Error('job add failed'));
      },
    );
  }

  async emit(events: readonly RelayEvent[], homeQueue: string | undefined): Promise<string[]> {
    if (events.length === 0) return [];
    const stop = this.metrics.enqueueSeconds.startTimer();
    // The event id is the job id, and a deduplication key outlives job removal for dedupeHours:
    // a provider redelivery makes no new job.
    const add = this.#add(homeQueue ?? this.config.queue.name, events);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis did not answer within ${enqueueTimeoutMs} ms`)),
        enqueueTimeoutMs,
      );
    });
    try {
      await Promise.race([add, timeout]);
    } catch (err) {
      // Late adds may still land; the provider's retry is then absorbed by dedupe.
      add.catch(() => {});
      throw new UnavailableError(`could not queue events: ${errorMessage(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
      stop();
    }
    return events.map((e) => e.id);
  }
}
