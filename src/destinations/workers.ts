import { type Job, type MinimalJob, Worker } from 'bullmq';
import type { RelayConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { RelayEvent } from '../queue/envelope.js';
import { createRedis, type RedisClient } from '../redis/connection.js';
import { limiterFor } from './config.js';
import { DeliveryError, DeliveryTarget } from './deliver.js';
import type { DeliveryState } from './state.js';

/**
 * The queue's exponential backoff (`queue.backoffMs`, doubling per attempt), but never sooner
 * than the destination's Retry-After. BullMQ calls it for jobs whose backoff type is
 * `relay-delivery`, which destination queues give every job (src/queue/queues.ts).
 */
export function deliveryBackoff(attemptsMade: number, _type?: string, err?: Error, job?: MinimalJob): number {
  const delay = (job?.opts.backoff as { delay?: number } | undefined)?.delay ?? 1000;
  const exponential = Math.round(2 ** Math.max(0, attemptsMade - 1) * delay);
  const asked = err instanceof DeliveryError ? (err.retryAfterMs ?? 0) : 0;
  return Math.max(exponential, asked);
}

export interface DeliveryDeps {
  readonly config: Pick<RelayConfig, 'redis' | 'destinations'>;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly state: DeliveryState;
  now(): number;
}

/**
 * One BullMQ worker per destination, in every replica: BullMQ hands each job to one worker, so each
 * event is delivered once when nothing fails, and a job whose replica dies mid-delivery is taken up
 * again when its lock lapses (at least once). Separate queues, workers and socket pools: a failing
 * destination only fills its own queue with retries; the ingest path never waits on a delivery.
 */
export class DeliveryWorkers {
  readonly #workers: Worker<RelayEvent, unknown, string>[] = [];
  readonly #targets: DeliveryTarget[] = [];
  #connection: RedisClient | undefined;

  constructor(private readonly deps: DeliveryDeps) {}

  start(): void {
    const { config, log } = this.deps;
    if (config.destinations.length === 0) return;
    // Shared by the workers for their commands; BullMQ gives each worker its own blocking connection.
    const connection = createRedis(config.redis, 'blocking', 'relay-deliveries');
    connection.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
    this.#connection = connection;
    for (const d of config.destinations) {
      const target = new DeliveryTarget(d.name, d.url, d.secret, d.timeoutMs, d.concurrency);
      this.#targets.push(target);
      const limiter = limiterFor(d.rate);
      const worker = new Worker<RelayEvent, unknown, string>(d.name, (job) => this.#deliver(target, job), {
        connection,
        prefix: config.redis.prefix,
        concurrency: d.concurrency,
        ...(limiter ? { limiter } : {}),
        settings: { backoffStrategy: deliveryBackoff },
        skipVersionCheck: true,
      });
      worker.on('error', (err) =>
        log.debug({ destination: d.name, err: err.message }, 'delivery worker error'),
      );
      this.#workers.push(worker);
    }
    log.info({ destinations: config.destinations.map((d) => d.name) }, 'delivering to destinations');
  }

  async #deliver(target: DeliveryTarget, job: Job<RelayEvent, unknown, string>): Promise<void> {
    const { metrics, state, log, now } = this.deps;
    const destination = target.name;
    const stop = metrics.deliverySeconds.startTimer({ destination });
    try {
      // BullMQ's JSON.parse rounds integers past 2^53: send the event's JSON text as stored.
      const stored = await this.#connection?.hget(
        `${this.deps.config.redis.prefix}:${job.queueName}:${job.id}`,
        'data',
      );
      await target.deliver(job.data, now(), stored ?? undefined);
      stop();
      metrics.deliveries.inc({ destination, outcome: 'delivered' });
      await state.success(destination, now());
    } catch (err) {
      stop();
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const reason = err instanceof DeliveryError ? err.message : `delivery failed: ${errorMessage(err)}`;
      metrics.deliveries.inc({ destination, outcome: last ? 'failed' : 'retried' });
      await state.error(destination, now(), job.id ?? '', reason);
      log[last ? 'warn' : 'info'](
        { destination, event: job.id, attempt: job.attemptsMade + 1, reason },
        last ? 'delivery failed for good: replay it with relay events replay' : 'delivery failed; retrying',
      );
      throw err instanceof DeliveryError
        ? err
        : new DeliveryError(reason, undefined, undefined, { cause: err });
    }
  }

  /**
   * Takes no new deliveries and lets those in flight finish for up to `graceMs`; then cuts them
   * short: each counts as a failed attempt and is retried after the backoff, by another replica
   * when this one is gone (at least once). A replica that dies outright leaves its deliveries
   * locked; BullMQ hands them to another replica once the lock lapses (stalled jobs).
   */
  async close(graceMs: number): Promise<void> {
    const timer = setTimeout(() => {
      for (const t of this.#targets) t.abort();
    }, graceMs);
    await Promise.all(this.#workers.map((w) => w.close()));
    clearTimeout(timer);
    for (const t of this.#targets) t.close();
    await this.#connection?.quit().catch(() => this.#connection?.disconnect());
  }
}
