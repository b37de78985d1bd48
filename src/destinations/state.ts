import type { QueueSet } from '../queue/queues.js';
import type { RedisClient } from '../redis/connection.js';

/** A success is written at most this often per destination and replica: one write per delivery would cost Redis more than the delivery. */
const successEveryMs = 1000;

/**
 * Each destination's last success and last error, kept in Redis (a hash per destination) so any
 * replica's `/admin/destinations` and `relay doctor` see what every replica delivered.
 */
export class DeliveryState {
  readonly #lastWrite = new Map<string, number>();
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  key(name: string): string {
    return `${this.prefix}:relay:destination:${name}`;
  }

  /** Written before the job is completed or failed, so whoever sees the job's state sees this too. */
  async success(name: string, nowMs: number): Promise<void> {
    if (nowMs - (this.#lastWrite.get(name) ?? 0) < successEveryMs) return;
    this.#lastWrite.set(name, nowMs);
    await this.redis.hset(this.key(name), 'lastSuccessAt', new Date(nowMs).toISOString()).catch(() => {});
  }

  async error(name: string, nowMs: number, eventId: string, reason: string): Promise<void> {
    await this.redis
      .hset(this.key(name), {
        lastErrorAt: new Date(nowMs).toISOString(),
        lastError: reason,
        lastErrorEvent: eventId,
      })
      .catch(() => {});
  }

  async read(name: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.key(name));
  }
}

export interface DestinationStatus {
  readonly name: string;
  readonly url: string;
  readonly lastSuccessAt: string | null;
  readonly lastErrorAt: string | null;
  readonly lastError: string | null;
  readonly lastErrorEvent: string | null;
  /** Jobs not delivered yet: waiting, delayed (retries), active, prioritized. */
  readonly backlog: number;
  readonly failed: number;
}

/** What `/admin/destinations` and `relay doctor` show for each destination. */
export async function destinationStatuses(
  destinations: readonly { readonly name: string; readonly url: string }[],
  state: DeliveryState,
  queues: QueueSet,
): Promise<DestinationStatus[]> {
  return Promise.all(
    destinations.map(async (d) => {
      const [seen, counts] = await Promise.all([
        state.read(d.name),
        queues.get(d.name).getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'failed'),
      ]);
      const url = new URL(d.url);
      url.username = '';
      url.password = '';
      return {
        name: d.name,
        url: url.toString(),
        lastSuccessAt: seen.lastSuccessAt ?? null,
        lastErrorAt: seen.lastErrorAt ?? null,
        lastError: seen.lastError ?? null,
        lastErrorEvent: seen.lastErrorEvent ?? null,
        backlog:
          (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0),
        failed: counts.failed ?? 0,
      };
    }),
  );
}
