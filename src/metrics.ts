import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The contract's series (section 5) plus process defaults, on one registry per relay. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'relay_requests_total',
    help: 'Inbound requests by channel and outcome (accepted, duplicate, handshake, or a rejection reason).',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly enqueued = new Counter({
    name: 'relay_events_enqueued_total',
    help: 'Events written to a queue, by channel and type.',
    labelNames: ['channel', 'type'] as const,
    registers: [this.registry],
  });
  readonly enqueueSeconds = new Histogram({
    name: 'relay_enqueue_seconds',
    help: 'Time to put one request worth of events into Redis.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
    registers: [this.registry],
  });
  readonly loopUp = new Gauge({
    name: 'relay_loop_up',
    help: '1 when this replica holds the lease of an outbound loop and runs it.',
    labelNames: ['channel', 'account'] as const,
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'relay_deliveries_total',
    help: 'Deliveries to destinations by outcome: delivered (2xx), retried (will be tried again), failed (attempts used up).',
    labelNames: ['destination', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly deliverySeconds = new Histogram({
    name: 'relay_delivery_seconds',
    help: 'Time of one delivery attempt to a destination, from request to answer.',
    labelNames: ['destination'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  constructor(
    queueJobs?: () => Promise<Array<{ queue: string; state: string; count: number }>>,
    journal?: () => Promise<{ backlog: number; lagSeconds: number }>,
  ) {
    collectDefaultMetrics({ register: this.registry });
    if (journal) {
      // Both read from Redis at scrape time, one round trip for the two.
      let reading: Promise<{ backlog: number; lagSeconds: number } | undefined> | undefined;
      const read = () => {
        reading ??= journal()
          .catch(() => undefined)
          .finally(() => setTimeout(() => (reading = undefined), 100));
        return reading;
      };
      new Gauge({
        name: 'relay_journal_backlog',
        help: 'Ingest journal entries (acknowledged requests) not yet turned into jobs, all replicas.',
        registers: [this.registry],
        async collect() {
          const r = await read();
          if (r) this.set(r.backlog);
        },
      });
      new Gauge({
        name: 'relay_journal_lag_seconds',
        help: 'Age of the oldest ingest journal entry not yet turned into jobs; 0 when none waits.',
        registers: [this.registry],
        async collect() {
          const r = await read();
          if (r) this.set(r.lagSeconds);
        },
      });
    }
    new Gauge({
      name: 'relay_queue_jobs',
      help: 'Jobs per queue and state, read from Redis at scrape time.',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      async collect() {
        if (!queueJobs) return;
        this.reset();
        try {
          for (const { queue, state, count } of await queueJobs()) this.set({ queue, state }, count);
        } catch {
          // Redis down: the series goes missing for this scrape; /readyz says why.
        }
      },
    });
  }
}
